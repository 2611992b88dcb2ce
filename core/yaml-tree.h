/*
 * A YAML document as a tree of nodes that remember their line and column, so the config
 * and rule loaders can report errors as FILE:LINE:COL. Built on libyaml's event parser.
 * Anchors and aliases are refused (a config should be readable as written); nesting depth
 * and node count are bounded so hostile input cannot exhaust the stack or memory.
 */
#ifndef KZ_YAML_TREE_H
#define KZ_YAML_TREE_H

#include <stddef.h>

enum ynode_type { YNODE_SCALAR, YNODE_SEQ, YNODE_MAP };

struct ynode {
    enum ynode_type type;
    int line; /* 1-based */
    int col;  /* 1-based */
    /* YNODE_SCALAR */
    char *str;
    size_t len;
    int plain; /* 1 when the scalar was unquoted (so "null", "true" may mean null/true) */
    /* YNODE_SEQ: items[0..n); YNODE_MAP: keys[i] -> items[i] */
    struct ynode **items;
    struct ynode **keys;
    size_t n;
};

#define YAML_TREE_MAX_DEPTH 64
#define YAML_TREE_MAX_NODES 1000000

/*
 * Parse every document of a YAML text. On success returns 0 and an array of *ndocs roots
 * (caller frees with yaml_tree_free_docs). On error returns -1 and writes
 * "NAME:LINE:COL: message" into err. name is only used in messages.
 */
int yaml_tree_parse(const char *name, const char *text, size_t len, struct ynode ***docs,
                    size_t *ndocs, char *err, size_t errlen);
/* Read a file and parse it as above; errors name the file. */
int yaml_tree_load_file(const char *path, struct ynode ***docs, size_t *ndocs, char *err,
                        size_t errlen);
void yaml_tree_free(struct ynode *node);
void yaml_tree_free_docs(struct ynode **docs, size_t ndocs);

/* Value of key in a map node, or NULL (also when node is not a map). */
struct ynode *ynode_get(const struct ynode *map, const char *key);
/* 1 if node is a scalar equal to s. */
int ynode_is(const struct ynode *node, const char *s);
/* Name of the node type for messages: "scalar", "list", "map". */
const char *ynode_type_name(const struct ynode *node);
/* 1 if node is a plain scalar null ("", "~", "null"). */
int ynode_is_null(const struct ynode *node);

#endif
