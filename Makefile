# Thin driver around CMake so a newcomer needs two commands:
#   make demo   build, then run the two-process demo
#   make test   build, then run every test: the suite (with its valgrind
#               runs), the suite again under ASan+UBSan, and the threaded
#               tests under TSan
#   make docs   the API reference from the headers, in build/docs/html
#               (needs doxygen)
BUILD   ?= build
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
# Labels run under the sanitizers (valgrind and benchmark runs excluded).
ASAN_EXCLUDE ?= valgrind|bench
TSAN_LABELS  ?= threads

.PHONY: all build demo test test-main test-asan test-tsan clean install docs

all: build

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	$(BUILD)/bin/rpc_demo

test: test-main test-asan test-tsan

test-main: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

build-asan/CMakeCache.txt:
	cmake -S . -B build-asan -DLIBRPC_SANITIZE=address -DLIBRPC_BUILD_BENCH=OFF $(CMAKE_FLAGS)

test-asan: build-asan/CMakeCache.txt
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) -LE '$(ASAN_EXCLUDE)'

build-tsan/CMakeCache.txt:
	cmake -S . -B build-tsan -DLIBRPC_SANITIZE=thread -DLIBRPC_BUILD_BENCH=OFF $(CMAKE_FLAGS)

test-tsan: build-tsan/CMakeCache.txt
	cmake --build build-tsan -j $(JOBS)
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --output-on-failure -j $(JOBS) -L '$(TSAN_LABELS)'

# Configures first, so that a doxygen installed since the last run is found.
docs:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) --target docs

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) build-asan build-tsan
