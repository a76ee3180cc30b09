# Sourced by nginx's auto/make: nginx compiles every source with $(CC) and one
# $(CFLAGS); the module's sources are C++20, so their objects (and only those:
# nginx's own C files must not see -std=c++20) get the C++ flags as
# target-specific variables. The object names follow auto/make's
# objs/addon/<source folder>/<name>.o rule.
for presence_src in $presence_cxx_srcs; do
    presence_obj="$NGX_OBJS/addon/`basename \`dirname $presence_src\``/`basename $presence_src .cpp`.o"
    echo "$presence_obj: CFLAGS += -std=c++20 -Wno-missing-field-initializers" >> $NGX_MAKEFILE
done
