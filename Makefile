# Thin wrapper over Meson/Ninja. `make` builds build/app-platform; `make test` is the whole suite (the
# same command .ci/run runs); `make check` the unit tests alone (seconds, no peers or control plane);
# `make demo` runs the local demonstration; `make image` writes the container image
# build/app-platform-<version>.oci.tar (+ .digest) with tools/image/build (no Docker engine needed);
# `make release` the image and the install bundle build/install.yaml that pins it by digest
# (tools/image/release).
BUILD ?= build

.PHONY: all test demo demo-stop check bench fuzz format clean deps image release
all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD) -Dtests=false

deps:
	tools/setup/deps

image:
	tools/image/build

release:
	tools/image/release

test:
	tools/ci/test

# Unit suites only, in the ASan build. The age vectors are fetched from the Go module proxy into the cache
# (once); offline, test_age_cctv is skipped and says so.
UNIT_SUITES = base crypto kube git dashboard operator
check:
	[ -f build-asan/build.ninja ] || meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
	nice ninja -C build-asan
	AP_CCTV_AGE_DIR=$$(tools/peers/build cctv-age 2>/dev/null | tail -n1) \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	meson test -C build-asan --print-errorlogs $(addprefix --suite ,$(UNIT_SUITES))

demo:
	tools/demo/run

demo-stop:
	tools/demo/stop

bench:
	bench/crypto/run
	bench/git/run
	bench/kube/run
	bench/operator/run
	bench/dashboard/run
	bench/image/run

fuzz:
	tools/ci/fuzz-smoke

format:
	git ls-files -co --exclude-standard '*.c' '*.h' | xargs -r clang-format -i

clean:
	rm -rf build build-asan build-fuzz build-image
