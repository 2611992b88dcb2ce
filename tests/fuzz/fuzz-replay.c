/*
 * A main() for the fuzz targets without libFuzzer: runs LLVMFuzzerTestOneInput() once on
 * every file named on the command line (a directory: on every regular file in it, in name
 * order). Linked with each fuzz-*.c into tests/fuzz/replay-*, built by make check in every
 * configuration (sanitizers or not), so the seed corpora and the regression inputs under
 * tests/fuzz/regress/ are replayed by tests/fuzz/test-fuzz-regress.sh. A failed check in a
 * target aborts, which the test reports. Prints one line per input on stderr with -v.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_replay_verbose;

/* Run one file; -1 when it cannot be read. */
static int
fuzz_replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    size_t len = 0, cap = 0, n;
    int r = -1;

    if (f == NULL) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    for (;;) {
        if (cap - len < 4096) {
            cap = cap ? 2 * cap : 65536;
            data = xrealloc(data, cap);
        }
        n = fread(data + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            break;
        }
    }
    if (!ferror(f)) {
        /* An exact-size copy, so that AddressSanitizer sees reads past the end. */
        uint8_t *exact = xmalloc(len > 0 ? len : 1);

        memcpy(exact, data, len);
        if (fuzz_replay_verbose) {
            fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
        }
        LLVMFuzzerTestOneInput(exact, len);
        free(exact);
        r = 0;
    }
    fclose(f);
    free(data);
    return r;
}

static int
fuzz_replay_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run every regular file of a directory in name order. Returns the number of failures. */
static int
fuzz_replay_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0;
    int bad = 0;

    if (d == NULL) {
        fprintf(stderr, "replay: cannot open %s\n", dir);
        return 1;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }
        names = xreallocarray(names, n + 1, sizeof(*names));
        names[n++] = xasprintf("%s/%s", dir, de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), fuzz_replay_cmp);
    for (size_t i = 0; i < n; i++) {
        struct stat st;

        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            bad += fuzz_replay_file(names[i]) != 0;
            (*count)++;
        }
        free(names[i]);
    }
    free(names);
    return bad;
}

int
main(int argc, char **argv)
{
    size_t count = 0;
    int bad = 0;

    for (int i = 1; i < argc; i++) {
        struct stat st;

        if (strcmp(argv[i], "-v") == 0) {
            fuzz_replay_verbose = 1;
            continue;
        }
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            bad += fuzz_replay_dir(argv[i], &count);
        } else {
            bad += fuzz_replay_file(argv[i]) != 0;
            count++;
        }
    }
    printf("%zu inputs replayed, %d unreadable\n", count, bad);
    return bad == 0 ? 0 : 1;
}
