/*
 * Test helper: private plugin directories and stderr capture (plugin-stage.h).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin-stage.h"
#include "tap.h"
#include "xmalloc.h"

static int plugin_stage_saved_fd = -1;
static FILE *plugin_stage_tmp;

char *
plugin_stage_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    char *dir = xasprintf("%s/kz-plugin-XXXXXX", tmp != NULL && *tmp != '\0' ? tmp : "/tmp");

    if (mkdtemp(dir) == NULL) {
        tap_diag("mkdtemp(%s) failed", dir);
        abort();
    }
    chmod(dir, 0700);
    return dir;
}

int
plugin_stage_copy(const char *src, const char *dir, const char *name, mode_t mode)
{
    char *dst = xasprintf("%s/%s", dir, name);
    char block[65536];
    int in = -1;
    int out = -1;
    ssize_t n;
    int r = -1;

    in = open(src, O_RDONLY);
    if (in < 0) {
        tap_diag("open(%s) failed (was it built?)", src);
        goto out;
    }
    out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0) {
        tap_diag("open(%s) failed", dst);
        goto out;
    }
    while ((n = read(in, block, sizeof(block))) > 0) {
        if (write(out, block, (size_t)n) != n) {
            tap_diag("write(%s) failed", dst);
            goto out;
        }
    }
    if (n < 0 || fchmod(out, mode) != 0) {
        goto out;
    }
    r = 0;
out:
    if (in >= 0) {
        close(in);
    }
    if (out >= 0) {
        close(out);
    }
    free(dst);
    return r;
}

void
plugin_stage_rm(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    if (d == NULL) {
        return;
    }
    while ((de = readdir(d)) != NULL) {
        char *path;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        path = xasprintf("%s/%s", dir, de->d_name);
        if (unlink(path) != 0) {
            rmdir(path);
        }
        free(path);
    }
    closedir(d);
    rmdir(dir);
}

const char *
plugin_stage_test_so(const char *name)
{
    static char path[4096];
    const char *top = getenv("top_builddir");

    snprintf(path, sizeof(path), "%s/tests/plugins/.libs/out_%s.so", top ? top : ".", name);
    return path;
}

const char *
plugin_stage_real_so(const char *name)
{
    static char path[4096];
    const char *dir = getenv("KIZUNA_PLUGIN_DIR");

    snprintf(path, sizeof(path), "%s/out_%s.so", dir ? dir : "plugins/.libs", name);
    return path;
}

void
plugin_stage_capture_begin(void)
{
    fflush(stderr);
    plugin_stage_tmp = tmpfile();
    if (plugin_stage_tmp == NULL) {
        abort();
    }
    plugin_stage_saved_fd = dup(2);
    dup2(fileno(plugin_stage_tmp), 2);
}

char *
plugin_stage_capture_end(void)
{
    long size;
    char *text;

    fflush(stderr);
    dup2(plugin_stage_saved_fd, 2);
    close(plugin_stage_saved_fd);
    plugin_stage_saved_fd = -1;
    fseek(plugin_stage_tmp, 0, SEEK_END);
    size = ftell(plugin_stage_tmp);
    if (size < 0) {
        size = 0;
    }
    rewind(plugin_stage_tmp);
    text = xcalloc(1, (size_t)size + 1);
    if (size > 0 && fread(text, 1, (size_t)size, plugin_stage_tmp) != (size_t)size) {
        text[0] = '\0';
    }
    fclose(plugin_stage_tmp);
    plugin_stage_tmp = NULL;
    return text;
}
