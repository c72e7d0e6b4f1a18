/* yaml_json.h - YAML (libyaml) to jansson, for kubeconfig files and manifests: maps, sequences and
 * scalars resolved by the YAML 1.2 core schema (null, bool, int, float, else string; quoted scalars are
 * always strings), anchors and aliases, with limits on depth, alias count and document count. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "base/error.h"

/* Parse the first document. An empty input gives JSON null. *ret is a new reference. */
int ap_yaml_to_json(const char *data, size_t len, json_t **ret, struct ap_error *err) _warn_unused_;
/* Parse every document of a multi-document stream into an array (empty documents skipped). */
int ap_yaml_to_json_all(const char *data, size_t len, json_t **ret_array, struct ap_error *err) _warn_unused_;
