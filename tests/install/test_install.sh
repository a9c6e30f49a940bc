#!/bin/sh
# test_install.sh - install librpc into a temporary prefix and use it the
# way a user would:
#
#   1. `cmake --install BUILD_DIR --prefix TMP`, then check the installed
#      tree: headers, shared library (with its soname, exporting only rpc_*)
#      and static library, rpcctl, test_shm_cleanup, man pages, librpc.pc
#      and the CMake package;
#   2. build examples/ with plain `cc` and `pkg-config --cflags --libs
#      librpc` (one also statically), and run the publisher/subscriber pair,
#      the poll loop and the static program; the same for README.md's example;
#   3. build tests/install/consumer, a separate CMake project using
#      find_package(librpc) and librpc::librpc / librpc::librpc_static,
#      and run what it built.
#
#   test_install.sh BUILD_DIR SOURCE_DIR [CMAKE]
#
# Programs run against the installed library (LD_LIBRARY_PATH), each on a
# segment name of its own.  The temporary directory is removed at the end.
# Exit status: 0 on success, 1 on failure, 77 when pkg-config is missing
# (Debian package pkg-config).
set -u

build=${1:?usage: test_install.sh BUILD_DIR SOURCE_DIR [CMAKE]}
src=${2:?usage: test_install.sh BUILD_DIR SOURCE_DIR [CMAKE]}
cmake=${3:-cmake}
cc=${CC:-cc}
status=0
names="/librpc_t_install_pc_$$ /librpc_t_install_readme_$$ /librpc_t_install_pcst_$$ /librpc_t_install_poll_$$ /librpc_t_install_cm_$$ /librpc_t_install_st_$$"

if ! command -v pkg-config >/dev/null 2>&1; then
    echo "SKIP: pkg-config is not installed (apt-get install -y pkg-config)"
    exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/librpc-install.XXXXXX") || exit 1
prefix=$tmp/prefix

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
    rm -rf "$tmp"
    for n in $names; do
        if [ -e "/dev/shm$n" ]; then
            echo "FAIL: /dev/shm$n was left behind" >&2
            rm -f "/dev/shm$n"
            status=1
        fi
    done
}
trap 'cleanup; exit $status' EXIT
trap 'status=1; exit' HUP INT TERM

fail() {
    echo "FAIL: $*" >&2
    status=1
}

# Run "$@" quietly; on failure show its output and stop.
step() {
    what=$1
    shift
    if ! "$@" >"$tmp/step.log" 2>&1; then
        cat "$tmp/step.log" >&2
        fail "$what"
        exit
    fi
}

# ---- 1. install and look at the tree --------------------------------------

step "cmake --install" "$cmake" --install "$build" --prefix "$prefix"

pc=$(find "$prefix" -name librpc.pc)
if [ -z "$pc" ] || [ "$(echo "$pc" | wc -l)" -ne 1 ]; then
    fail "no (single) librpc.pc in $prefix"
    exit
fi
libdir=$(dirname "$(dirname "$pc")")
echo "installed; libdir ${libdir#"$tmp"/}"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
version=$(pkg-config --modversion librpc) || { fail "pkg-config cannot read librpc.pc"; exit; }
major=${version%%.*}

for h in "$src"/include/librpc/*.h; do
    [ -f "$prefix/include/librpc/${h##*/}" ] || fail "header ${h##*/} not installed"
done
[ -f "$libdir/librpc.so.$version" ] || fail "librpc.so.$version not installed"
[ -L "$libdir/librpc.so.$major" ] || fail "librpc.so.$major is not a symbolic link"
[ -L "$libdir/librpc.so" ] || fail "librpc.so (for -lrpc) is not a symbolic link"
[ -f "$libdir/librpc.a" ] || fail "librpc.a not installed"
soname=$(readelf -d "$libdir/librpc.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "librpc.so.$major" ] || fail "soname is '$soname', not librpc.so.$major"
# Only the public API is exported from the shared library.
other=$(nm -D --defined-only "$libdir/librpc.so" |
        awk '$2 ~ /^[TDBRW]$/ { sub(/@.*/, "", $3); if ($3 !~ /^rpc_/) print $3 }')
[ -z "$other" ] || fail "librpc.so exports non-API symbols: $other"
nm "$libdir/librpc.a" 2>/dev/null | grep -q ' T rpc_node_create$' ||
    fail "librpc.a does not define rpc_node_create"
for f in librpcConfig.cmake librpcConfigVersion.cmake librpcTargets.cmake; do
    [ -f "$libdir/cmake/librpc/$f" ] || fail "CMake package file $f not installed"
done
[ -n "$(find "$prefix" -path '*/man3/librpc.3')" ] || fail "man page librpc(3) not installed"
# The tools are optional (-DLIBRPC_BUILD_TOOLS=OFF): expect them when built.
if [ -x "$build/bin/rpcctl" ]; then
    for t in rpcctl test_shm_cleanup cleanup_shm.sh; do
        [ -x "$prefix/bin/$t" ] || fail "bin/$t not installed"
    done
    [ -n "$(find "$prefix" -path '*/man1/rpcctl.1')" ] || fail "man page rpcctl(1) not installed"
    out=$(LD_LIBRARY_PATH=$libdir "$prefix/bin/rpcctl" --version 2>&1)
    case $out in
    *"$version"*) ;;
    *) fail "installed rpcctl --version printed '$out'" ;;
    esac
    unit=$(find "$prefix" -name librpc-watch.service)
    if [ -n "$unit" ] && ! grep -q "^ExecStart=$prefix/bin/rpcctl " "$unit"; then
        fail "librpc-watch.service does not run $prefix/bin/rpcctl"
    fi
fi

# uses_installed_lib PROGRAM: the dynamic loader picks the installed copy.
uses_installed_lib() {
    LD_LIBRARY_PATH=$libdir ldd "$1" | grep -q "=> $libdir/librpc.so.$major " ||
        fail "${1##*/} does not load $libdir/librpc.so.$major"
}

# ---- 2. plain cc with pkg-config ------------------------------------------

mkdir -p "$tmp/pc"
cflags=$(pkg-config --cflags librpc)
libs=$(pkg-config --libs librpc)
for ex in publisher subscriber poll_loop node_events basic_node multi_node startup_recovery; do
    # shellcheck disable=SC2086 # the flags are word lists
    step "cc $ex.c with pkg-config" \
        "$cc" -Wall -Wextra -Werror $cflags -o "$tmp/pc/example_$ex" "$src/examples/$ex.c" $libs
done
# Static, as README.md shows it: the static archive picked by -Bstatic, with
# the private libraries that pkg-config --static adds.
# shellcheck disable=SC2046,SC2086
step "cc basic_node.c with pkg-config --static" \
    "$cc" -Wall -Wextra -Werror $cflags -o "$tmp/pc/example_basic_node_static" \
    "$src/examples/basic_node.c" -Wl,-Bstatic $(pkg-config --static --libs librpc) -Wl,-Bdynamic
echo "built examples with $cc \$(pkg-config --cflags --libs librpc), one statically"
if readelf -d "$tmp/pc/example_basic_node_static" | grep -q 'NEEDED.*librpc'; then
    fail "example_basic_node_static needs librpc.so"
fi
LIBRPC_SHM_NAME=/librpc_t_install_pcst_$$ "$tmp/pc/example_basic_node_static" ||
    fail "pkg-config static build: basic_node"
uses_installed_lib "$tmp/pc/example_publisher"
LD_LIBRARY_PATH=$libdir LIBRPC_SHM_NAME=/librpc_t_install_pc_$$ \
    sh "$src/examples/run_pubsub.sh" "$tmp/pc" 50 || fail "pkg-config build: publisher/subscriber"
LD_LIBRARY_PATH=$libdir LIBRPC_SHM_NAME=/librpc_t_install_poll_$$ \
    "$tmp/pc/example_poll_loop" --count 3 </dev/null || fail "pkg-config build: poll_loop"

# The example in README.md (the first C block under "## Example") compiles
# and runs as shown.
awk '/^## Example/ { f = 1 } f && /^```c$/ { g = 1; next } g && /^```$/ { exit } g' \
    "$src/README.md" >"$tmp/pc/readme_example.c"
if [ -s "$tmp/pc/readme_example.c" ]; then
    # shellcheck disable=SC2086
    step "cc README.md's example with pkg-config" \
        "$cc" -Wall -Wextra -Werror $cflags -o "$tmp/pc/readme_example" "$tmp/pc/readme_example.c" $libs
    out=$(LD_LIBRARY_PATH=$libdir LIBRPC_SHM_NAME=/librpc_t_install_readme_$$ "$tmp/pc/readme_example")
    echo "$out"
    [ "$out" = "logger got sensors/temperature #1 from sensor: 21.5 C" ] ||
        fail "README.md's example printed something else"
else
    fail "no C example under '## Example' in README.md"
fi

# ---- 3. a CMake project with find_package ---------------------------------

step "configure the find_package consumer" \
    "$cmake" -S "$src/tests/install/consumer" -B "$tmp/consumer" \
    -DCMAKE_PREFIX_PATH="$prefix" -DLIBRPC_EXAMPLES_DIR="$src/examples"
found=$(sed -n 's/^librpc_DIR:PATH=//p' "$tmp/consumer/CMakeCache.txt")
[ "$found" = "$libdir/cmake/librpc" ] || fail "find_package found librpc in '$found'"
step "build the find_package consumer" "$cmake" --build "$tmp/consumer"
echo "built examples with find_package(librpc)"
uses_installed_lib "$tmp/consumer/example_subscriber"
LD_LIBRARY_PATH=$libdir LIBRPC_SHM_NAME=/librpc_t_install_cm_$$ \
    sh "$src/examples/run_pubsub.sh" "$tmp/consumer" 50 || fail "CMake build: publisher/subscriber"
# librpc::librpc_static: the program must not need librpc.so at all.
if readelf -d "$tmp/consumer/example_node_events_static" | grep -q 'NEEDED.*librpc'; then
    fail "example_node_events_static needs librpc.so"
fi
LIBRPC_SHM_NAME=/librpc_t_install_st_$$ "$tmp/consumer/example_node_events_static" ||
    fail "CMake build: node_events (static)"

[ "$status" -eq 0 ] && echo "OK: installed librpc $version builds and runs both ways"
exit "$status"
