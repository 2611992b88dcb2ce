/*
 * out_misp compiled into the format fuzz target (fuzz-format.c), with its entry point
 * renamed so that all the shipped plugins link into one instrumented binary.
 */
#define kz_plugin_entry fuzz_plugin_entry_misp
#include "../../plugins/out_misp/misp.c"
