# Thin wrappers; the real work is in CMake, ctest and scripts/. Each target installs what it needs.
BUILD ?= build
BUILD_ASAN ?= build-asan
JOBS ?= 2

.PHONY: all deps build demo test test-unit test-asan bench clean format

all: build

deps:
	./scripts/install-deps

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# The main job: the local demo of agents in sandboxes (needs root).
demo: build
	./scripts/demo $(BUILD)/src/cloudcoop

# Every test (unit, root, tmux, netns, sshd, gcloud). CI runs this as root.
test: build
	cd $(BUILD) && ctest -j $(JOBS) --output-on-failure --timeout 600

test-unit: build
	cd $(BUILD) && ctest -j $(JOBS) --output-on-failure -L unit

# Unit tests under AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan: deps
	cmake -S . -B $(BUILD_ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCLOUDCOOP_SANITIZE=ON
	cmake --build $(BUILD_ASAN) -j $(JOBS)
	cd $(BUILD_ASAN) && ctest -j $(JOBS) --output-on-failure -L unit

bench: build
	./bench/run-all $(BUILD)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
