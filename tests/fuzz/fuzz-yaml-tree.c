/*
 * libFuzzer target for the YAML tree (core/yaml-tree.c), which every config and rule file
 * goes through. The input is a YAML text, handed to yaml_tree_parse() in a buffer of
 * exactly its length. Besides crashes (and the stack/memory bounds of the tree: depth 64,
 * 1,000,000 nodes), the target aborts when the tree breaks its contract: a result other
 * than 0/-1, an error not of the form "NAME:LINE:COL: message", a node with a line or column below
 * 1 or above the text's, a scalar whose str is not NUL-terminated at len, a map key that is not a
 * scalar or appears twice, a node nested deeper than YAML_TREE_MAX_DEPTH, or ynode_get()
 * not finding a key's own item.
 * Built only with configure --enable-fuzzing (CC=clang); replayed without libFuzzer by
 * tests/fuzz/replay-yaml-tree in make check. See docs/OPERATIONS.md.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yaml-tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_YAML_NAME "in.yaml"

struct fuzz_yaml_walk {
    int max_line;
    size_t nodes;
};

static void
fuzz_yaml_fail(const char *what, const struct ynode *n)
{
    fprintf(stderr, "fuzz-yaml-tree: %s (node at %d:%d)\n", what, n ? n->line : 0, n ? n->col : 0);
    abort();
}

static void
fuzz_yaml_walk(struct fuzz_yaml_walk *w, const struct ynode *n, int depth)
{
    w->nodes++;
    if (depth > YAML_TREE_MAX_DEPTH + 1) {
        fuzz_yaml_fail("deeper than YAML_TREE_MAX_DEPTH", n);
    }
    /* libyaml moves the end of a stream that lacks a final line break to the next line. */
    if (n->line < 1 || n->col < 1 || n->line > w->max_line + 1) {
        fuzz_yaml_fail("position out of the text", n);
    }
    if (ynode_type_name(n)[0] == '?') {
        fuzz_yaml_fail("unknown node type", n);
    }
    switch (n->type) {
    case YNODE_SCALAR:
        if (n->str == NULL || n->str[n->len] != '\0' || n->n != 0) {
            fuzz_yaml_fail("bad scalar", n);
        }
        (void)ynode_is_null(n);
        return;
    case YNODE_SEQ:
        if (n->keys != NULL || n->str != NULL) {
            fuzz_yaml_fail("list with keys or a string", n);
        }
        for (size_t i = 0; i < n->n; i++) {
            fuzz_yaml_walk(w, n->items[i], depth + 1);
        }
        return;
    case YNODE_MAP:
        if (n->str != NULL || (n->n > 0 && n->keys == NULL)) {
            fuzz_yaml_fail("map without keys or with a string", n);
        }
        for (size_t i = 0; i < n->n; i++) {
            const struct ynode *k = n->keys[i];
            if (k == NULL || k->type != YNODE_SCALAR) {
                fuzz_yaml_fail("map key is not a scalar", n);
            }
            fuzz_yaml_walk(w, k, depth + 1);
            for (size_t j = 0; j < i; j++) {
                if (strcmp(n->keys[j]->str, k->str) == 0) {
                    fuzz_yaml_fail("duplicate key accepted", k);
                }
            }
            if (ynode_get(n, k->str) != n->items[i] || !ynode_is(k, k->str)) {
                fuzz_yaml_fail("ynode_get does not find a key's item", k);
            }
            fuzz_yaml_walk(w, n->items[i], depth + 1);
        }
        return;
    }
    fuzz_yaml_fail("unknown node type", n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ynode **docs = NULL;
    size_t ndocs = 0;
    struct fuzz_yaml_walk w = {1, 0};
    char err[512];
    char *text;
    int r;

    if (size > 1024 * 1024) {
        return 0;
    }
    for (size_t i = 0; i < size; i++) {
        /* libyaml counts CR, LF, CRLF, NEL, LS and PS as line breaks: a safe upper bound. */
        w.max_line += data[i] == '\n' || data[i] == '\r' || data[i] == 0x85 || data[i] == 0xa8 ||
                      data[i] == 0xa9;
    }
    text = malloc(size > 0 ? size : 1);
    memcpy(text, data, size);
    err[0] = '\0';
    r = yaml_tree_parse(FUZZ_YAML_NAME, text, size, &docs, &ndocs, err, sizeof(err));
    if (r == 0) {
        if (ndocs > 0 && docs == NULL) {
            fuzz_yaml_fail("documents counted but not returned", NULL);
        }
        for (size_t i = 0; i < ndocs; i++) {
            fuzz_yaml_walk(&w, docs[i], 0);
        }
        if (w.nodes > YAML_TREE_MAX_NODES * (ndocs > 0 ? ndocs : 1)) {
            fuzz_yaml_fail("more nodes than YAML_TREE_MAX_NODES", NULL);
        }
    } else {
        int line = -1, col = -1, n = 0;
        size_t nl = strlen(FUZZ_YAML_NAME);

        if (r != -1 || docs != NULL || ndocs != 0 || strncmp(err, FUZZ_YAML_NAME, nl) != 0 ||
            sscanf(err + nl, ":%d:%d: %n", &line, &col, &n) != 2 || n == 0 || line < 1 || col < 1 ||
            err[nl + (size_t)n] == '\0') {
            fprintf(stderr, "fuzz-yaml-tree: bad failure (r=%d): %s\n", r, err);
            abort();
        }
    }
    yaml_tree_free_docs(docs, ndocs);
    free(text);
    return 0;
}
