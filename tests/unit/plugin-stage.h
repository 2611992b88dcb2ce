/*
 * Test helper: stage plugin .so files into a private temporary directory (mode 0700) so
 * the plugin tests do not depend on the build directory's permissions (the loader refuses
 * group-writable directories, which a umask of 002 would give the build tree).
 */
#ifndef KZ_TEST_PLUGIN_STAGE_H
#define KZ_TEST_PLUGIN_STAGE_H

#include <sys/types.h>

/* Create a new empty directory under $TMPDIR (or /tmp); returns its path (caller frees). */
char *plugin_stage_dir(void);
/* Copy file src to dir/name and chmod it to mode. Returns 0 or -1 (with a diagnostic). */
int plugin_stage_copy(const char *src, const char *dir, const char *name, mode_t mode);
/* Remove the directory and the files in it (one level). */
void plugin_stage_rm(const char *dir);
/* Path of a built test plugin: $top_builddir/tests/plugins/.libs/out_<name>.so (static). */
const char *plugin_stage_test_so(const char *name);
/* Path of a built shipped plugin: $KIZUNA_PLUGIN_DIR/out_<name>.so (static buffer). */
const char *plugin_stage_real_so(const char *name);
/* Redirect stderr into a temporary file until plugin_stage_capture_end(). */
void plugin_stage_capture_begin(void);
/* Restore stderr and return what was written (caller frees). */
char *plugin_stage_capture_end(void);

#endif
