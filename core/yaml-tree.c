/*
 * Build a node tree with source positions from libyaml parser events.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "xmalloc.h"
#include "yaml-tree.h"

struct ytree_build {
    yaml_parser_t parser;
    const char *name;
    char *err;
    size_t errlen;
    size_t nodes;
};

static void
ytree_error(struct ytree_build *b, int line, int col, const char *msg)
{
    snprintf(b->err, b->errlen, "%s:%d:%d: %s", b->name, line, col, msg);
}

static struct ynode *
ytree_node_new(enum ynode_type type, const yaml_mark_t *mark)
{
    struct ynode *n = xcalloc(1, sizeof(*n));

    n->type = type;
    n->line = (int)mark->line + 1;
    n->col = (int)mark->column + 1;
    return n;
}

static void
ytree_append(struct ynode *parent, struct ynode *key, struct ynode *item)
{
    parent->items = xreallocarray(parent->items, parent->n + 1, sizeof(*parent->items));
    if (parent->type == YNODE_MAP) {
        parent->keys = xreallocarray(parent->keys, parent->n + 1, sizeof(*parent->keys));
        parent->keys[parent->n] = key;
    }
    parent->items[parent->n++] = item;
}

static int
ytree_key_cmp(const void *pa, const void *pb)
{
    const struct ynode *a = *(const struct ynode *const *)pa;
    const struct ynode *b = *(const struct ynode *const *)pb;
    int c = strcmp(a->str, b->str);

    if (c != 0) {
        return c;
    }
    return a->line != b->line ? (a->line < b->line ? -1 : 1) : (a->col < b->col ? -1 : 1);
}

/*
 * Refuse a map with a key given twice, naming the repeat and the first place. Sorting
 * keeps this O(n log n), so a hostile file with a huge map cannot stall the loader.
 */
static int
ytree_check_duplicates(struct ytree_build *b, const struct ynode *map)
{
    const struct ynode **sorted;
    const struct ynode *dup = NULL, *first = NULL;

    if (map->n < 2) {
        return 0;
    }
    sorted = xreallocarray(NULL, map->n, sizeof(*sorted));
    memcpy(sorted, map->keys, map->n * sizeof(*sorted));
    qsort(sorted, map->n, sizeof(*sorted), ytree_key_cmp);
    for (size_t i = 1; i < map->n; i++) {
        if (strcmp(sorted[i]->str, sorted[i - 1]->str) != 0) {
            continue;
        }
        /* Report the repeat that comes first in the document. */
        if (dup == NULL || sorted[i]->line < dup->line ||
            (sorted[i]->line == dup->line && sorted[i]->col < dup->col)) {
            size_t j = i - 1;
            while (j > 0 && strcmp(sorted[j - 1]->str, sorted[i]->str) == 0) {
                j--;
            }
            dup = sorted[i];
            first = sorted[j];
        }
    }
    free(sorted);
    if (dup != NULL) {
        char msg[300];
        snprintf(msg, sizeof(msg), "duplicate key '%.200s' (first at line %d)", dup->str,
                 first->line);
        ytree_error(b, dup->line, dup->col, msg);
        return -1;
    }
    return 0;
}

/* Parse one node whose first event is ev (already taken); returns NULL on error. */
static struct ynode *
ytree_parse_node(struct ytree_build *b, yaml_event_t *ev, int depth)
{
    struct ynode *node = NULL;
    yaml_event_t child;

    if (++b->nodes > YAML_TREE_MAX_NODES) {
        ytree_error(b, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                    "document has too many nodes");
        return NULL;
    }
    if (depth > YAML_TREE_MAX_DEPTH) {
        ytree_error(b, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                    "document is nested too deeply");
        return NULL;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        node = ytree_node_new(YNODE_SCALAR, &ev->start_mark);
        node->str = xstrndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
        node->len = ev->data.scalar.length;
        node->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        return node;
    case YAML_ALIAS_EVENT:
        ytree_error(b, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                    "YAML aliases are not supported");
        return NULL;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        break;
    default:
        ytree_error(b, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                    "unexpected YAML event");
        return NULL;
    }

    node = ytree_node_new(ev->type == YAML_SEQUENCE_START_EVENT ? YNODE_SEQ : YNODE_MAP,
                          &ev->start_mark);
    for (;;) {
        struct ynode *key = NULL, *item;

        if (!yaml_parser_parse(&b->parser, &child)) {
            goto parse_error;
        }
        if (child.type == YAML_SEQUENCE_END_EVENT || child.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&child);
            if (node->type == YNODE_MAP && ytree_check_duplicates(b, node) != 0) {
                goto fail;
            }
            return node;
        }
        if (node->type == YNODE_MAP) {
            key = ytree_parse_node(b, &child, depth + 1);
            yaml_event_delete(&child);
            if (key == NULL) {
                goto fail;
            }
            if (key->type != YNODE_SCALAR) {
                ytree_error(b, key->line, key->col, "map keys must be scalars");
                yaml_tree_free(key);
                goto fail;
            }
            if (!yaml_parser_parse(&b->parser, &child)) {
                yaml_tree_free(key);
                goto parse_error;
            }
        }
        item = ytree_parse_node(b, &child, depth + 1);
        yaml_event_delete(&child);
        if (item == NULL) {
            yaml_tree_free(key);
            goto fail;
        }
        ytree_append(node, key, item);
    }

parse_error:
    ytree_error(b, (int)b->parser.problem_mark.line + 1, (int)b->parser.problem_mark.column + 1,
                b->parser.problem ? b->parser.problem : "YAML syntax error");
fail:
    yaml_tree_free(node);
    return NULL;
}

int
yaml_tree_parse(const char *name, const char *text, size_t len, struct ynode ***docs,
                size_t *ndocs, char *err, size_t errlen)
{
    struct ytree_build b = {.name = name, .err = err, .errlen = errlen};
    struct ynode **out = NULL;
    size_t nout = 0;
    yaml_event_t ev;
    int r = -1;

    *docs = NULL;
    *ndocs = 0;
    yaml_parser_initialize(&b.parser);
    yaml_parser_set_input_string(&b.parser, (const unsigned char *)text, len);
    for (;;) {
        if (!yaml_parser_parse(&b.parser, &ev)) {
            ytree_error(&b, (int)b.parser.problem_mark.line + 1,
                        (int)b.parser.problem_mark.column + 1,
                        b.parser.problem ? b.parser.problem : "YAML syntax error");
            goto out;
        }
        if (ev.type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (ev.type == YAML_DOCUMENT_START_EVENT) {
            yaml_event_t root;
            struct ynode *node;

            yaml_event_delete(&ev);
            if (!yaml_parser_parse(&b.parser, &root)) {
                ytree_error(&b, (int)b.parser.problem_mark.line + 1,
                            (int)b.parser.problem_mark.column + 1,
                            b.parser.problem ? b.parser.problem : "YAML syntax error");
                goto out;
            }
            node = ytree_parse_node(&b, &root, 0);
            yaml_event_delete(&root);
            if (node == NULL) {
                goto out;
            }
            out = xreallocarray(out, nout + 1, sizeof(*out));
            out[nout++] = node;
            continue;
        }
        yaml_event_delete(&ev);
    }
    *docs = out;
    *ndocs = nout;
    out = NULL;
    nout = 0;
    r = 0;
out:
    yaml_tree_free_docs(out, nout);
    yaml_parser_delete(&b.parser);
    return r;
}

int
yaml_tree_load_file(const char *path, struct ynode ***docs, size_t *ndocs, char *err,
                    size_t errlen)
{
    FILE *f = NULL;
    char *text = NULL;
    size_t len = 0, cap = 0, n;
    int r = -1;

    *docs = NULL;
    *ndocs = 0;
    f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s:0:0: cannot open: %s", path, strerror(errno));
        goto out;
    }
    for (;;) {
        if (cap - len < 65536) {
            cap = cap ? cap * 2 : 65536;
            text = xrealloc(text, cap);
        }
        n = fread(text + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            break;
        }
        if (len > 64u * 1024 * 1024) {
            snprintf(err, errlen, "%s:0:0: file is larger than 64 MiB", path);
            goto out;
        }
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s:0:0: read failed: %s", path, strerror(errno));
        goto out;
    }
    r = yaml_tree_parse(path, text, len, docs, ndocs, err, errlen);
out:
    if (f != NULL) {
        fclose(f);
    }
    free(text);
    return r;
}

void
yaml_tree_free(struct ynode *node)
{
    if (node == NULL) {
        return;
    }
    for (size_t i = 0; i < node->n; i++) {
        if (node->keys != NULL) {
            yaml_tree_free(node->keys[i]);
        }
        yaml_tree_free(node->items[i]);
    }
    free(node->keys);
    free(node->items);
    free(node->str);
    free(node);
}

void
yaml_tree_free_docs(struct ynode **docs, size_t ndocs)
{
    for (size_t i = 0; i < ndocs; i++) {
        yaml_tree_free(docs[i]);
    }
    free(docs);
}

struct ynode *
ynode_get(const struct ynode *map, const char *key)
{
    if (map == NULL || map->type != YNODE_MAP) {
        return NULL;
    }
    for (size_t i = 0; i < map->n; i++) {
        if (strcmp(map->keys[i]->str, key) == 0) {
            return map->items[i];
        }
    }
    return NULL;
}

int
ynode_is(const struct ynode *node, const char *s)
{
    return node != NULL && node->type == YNODE_SCALAR && strcmp(node->str, s) == 0;
}

const char *
ynode_type_name(const struct ynode *node)
{
    switch (node->type) {
    case YNODE_SCALAR:
        return "scalar";
    case YNODE_SEQ:
        return "list";
    case YNODE_MAP:
        return "map";
    }
    return "?";
}

int
ynode_is_null(const struct ynode *node)
{
    return node->type == YNODE_SCALAR && node->plain &&
           (node->len == 0 || strcmp(node->str, "~") == 0 || strcmp(node->str, "null") == 0);
}
