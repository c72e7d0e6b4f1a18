/* resources.c - the API resources the operator reads and writes beyond src/kube's core set. */
#include "operator/operator_internal.h"

const struct ap_kube_resource op_res_registrations = {"labrats.work", "v1alpha1", "appplatformregistrations",
                                                      "AppPlatformRegistration", false};
const struct ap_kube_resource op_res_rolebindings = {"rbac.authorization.k8s.io", "v1", "rolebindings",
                                                     "RoleBinding", true};
const struct ap_kube_resource op_res_roles = {"rbac.authorization.k8s.io", "v1", "roles", "Role", true};
const struct ap_kube_resource op_res_gitrepositories = {"source.toolkit.fluxcd.io", "v1", "gitrepositories",
                                                        "GitRepository", true};
const struct ap_kube_resource op_res_kustomizations = {"kustomize.toolkit.fluxcd.io", "v1", "kustomizations",
                                                       "Kustomization", true};
const struct ap_kube_resource op_res_deployments = {"apps", "v1", "deployments", "Deployment", true};
