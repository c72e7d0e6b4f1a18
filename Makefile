# Thin wrapper over Meson/Ninja. `make` builds build/app-platform; `make test` is the whole suite (the
# same command .ci/run runs); `make demo` runs the local demonstration.
BUILD ?= build

.PHONY: all test demo demo-stop check bench fuzz format clean deps
all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD) -Dtests=false

deps:
	tools/setup/deps

test:
	tools/ci/test

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

fuzz:
	tools/ci/fuzz-smoke

format:
	git ls-files -co --exclude-standard '*.c' '*.h' | xargs -r clang-format -i

clean:
	rm -rf build build-asan build-fuzz
