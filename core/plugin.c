/*
 * The output-plugin loader and registry, and plugin instances (plugin-loader.h).
 *
 * Loading is where the plugin ABI is enforced: every way a .so can be wrong (not there,
 * replaceable by others, not loadable, not a kizuna plugin, built for another ABI, an
 * incomplete descriptor, a name that lies about the file, a bad option table) is refused
 * here with one message that names the file, before any plugin callback runs.
 *
 * Instances fill the plugin's option struct from the YAML entry the way nginx fills a
 * module's conf from directives: a table of name, type, default, bounds and offsetof slot.
 */
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "plugin-loader.h"
#include "xmalloc.h"

/* Size of the ABI 1.0 descriptor: a plugin's struct_size may not be smaller. */
#define PLUGIN_DESC_SIZE_1_0 (offsetof(struct kz_plugin, close) + sizeof(void *))
/* Sanity bounds on what a descriptor may ask of the host. */
#define PLUGIN_MAX_OPTIONS 256
#define PLUGIN_MAX_CONFIG_SIZE (1024 * 1024)
#define PLUGIN_MAX_NAME 64

struct plugin {
    char *name; /* from the file name; equals desc->name */
    char *path;
    void *handle; /* dlopen() handle */
    const struct kz_plugin *desc;
    size_t noptions;
};

struct plugin_registry {
    char *dir;
    struct plugin **v; /* sorted by name */
    size_t n;
};

struct plugin_instance {
    const struct plugin *plugin;
    char *name;
    char *tag; /* "out_<plugin>:<instance>" */
    void *config;
    char **strings; /* option strings handed to the plugin, freed after close */
    size_t nstrings;
    void *state;
    int ready; /* init() succeeded: close() is owed */
    struct plugin_instance_stats stats;
};

/* The value of one option, parsed. */
union plugin_value {
    const char *s;
    int64_t i;
    int b;
};

const char *
plugin_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
    case PLUGIN_ERR_NOTFOUND:
        return "plugin not found";
    case PLUGIN_ERR_PERM:
        return "unsafe plugin file or directory";
    case PLUGIN_ERR_DLOPEN:
        return "cannot load plugin";
    case PLUGIN_ERR_SYMBOL:
        return "not a kizuna plugin";
    case PLUGIN_ERR_ABI:
        return "plugin ABI mismatch";
    case PLUGIN_ERR_INVALID:
        return "invalid plugin descriptor";
    case PLUGIN_ERR_DUPLICATE:
        return "duplicate plugin name";
    case PLUGIN_ERR_OPTION:
        return "invalid plugin options";
    case PLUGIN_ERR_INIT:
        return "plugin initialisation failed";
    }
    return "unknown error";
}

const char *
plugin_status_name(int status)
{
    switch (status) {
    case KZ_OK:
        return "OK";
    case KZ_RETRY:
        return "RETRY";
    case KZ_AGAIN:
        return "AGAIN";
    case KZ_ERR:
        return "ERR";
    }
    return "unknown status";
}

static void plugin_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Write a message into err[errlen] when there is room for one. */
static void
plugin_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static const char *
plugin_type_name(enum kz_option_type type)
{
    switch (type) {
    case KZ_OPT_STRING:
        return "string";
    case KZ_OPT_INT:
        return "int";
    case KZ_OPT_BOOL:
        return "bool";
    }
    return "?";
}

/* Plugin and option names: letters, digits, '_' and '-', 1..PLUGIN_MAX_NAME bytes. */
static int
plugin_name_valid(const char *name)
{
    size_t len = 0;

    for (const char *c = name; *c != '\0'; c++, len++) {
        if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-') {
            return 0;
        }
    }
    return len > 0 && len <= PLUGIN_MAX_NAME;
}

/*
 * Refuse a path that other users could replace: owned by someone other than root or our
 * own user, group/world-writable, or not of the expected type.
 */
static int
plugin_check_mode(const char *path, int want_dir, char *err, size_t errlen)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        int e = errno;
        plugin_errf(err, errlen, "%s: %s", path, strerror(e));
        return e == ENOENT || e == ENOTDIR ? PLUGIN_ERR_NOTFOUND : PLUGIN_ERR_PERM;
    }
    if (want_dir && !S_ISDIR(st.st_mode)) {
        plugin_errf(err, errlen, "%s: plugin directory is not a directory", path);
        return PLUGIN_ERR_NOTFOUND;
    }
    if (!want_dir && !S_ISREG(st.st_mode)) {
        plugin_errf(err, errlen, "%s: plugin is not a regular file", path);
        return PLUGIN_ERR_PERM;
    }
    /* As OpenSSH's StrictModes: whoever owns the file can change what the daemon runs. */
    if (st.st_uid != 0 && st.st_uid != geteuid()) {
        plugin_errf(err, errlen,
                    "%s: %s is owned by uid %u, neither root nor kizunad's user (uid %u); "
                    "refusing to load %s",
                    path, want_dir ? "plugin directory" : "plugin file", (unsigned)st.st_uid,
                    (unsigned)geteuid(), want_dir ? "plugins from it" : "it");
        return PLUGIN_ERR_PERM;
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        plugin_errf(err, errlen,
                    "%s: %s is group/world-writable (mode %04o); refusing to load %s (chmod "
                    "go-w)",
                    path, want_dir ? "plugin directory" : "plugin file",
                    (unsigned)(st.st_mode & 07777), want_dir ? "plugins from it" : "it");
        return PLUGIN_ERR_PERM;
    }
    return 0;
}

/*
 * Parse one option value (from the config or the table's default) as o->type. Returns 0,
 * or -1 with a reason ("must be true or false, not 'x'") in why.
 */
static int
plugin_value_parse(const struct kz_option *o, const char *text, union plugin_value *v,
                   char *why, size_t whylen)
{
    static const char *const truths[] = {"true", "yes", "on"};
    static const char *const lies[] = {"false", "no", "off"};
    char *end;
    long long n;

    switch (o->type) {
    case KZ_OPT_STRING:
        v->s = text;
        return 0;
    case KZ_OPT_BOOL:
        for (size_t i = 0; i < 3; i++) {
            if (strcasecmp(text, truths[i]) == 0) {
                v->b = 1;
                return 0;
            }
            if (strcasecmp(text, lies[i]) == 0) {
                v->b = 0;
                return 0;
            }
        }
        snprintf(why, whylen, "must be true or false, not '%.100s'", text);
        return -1;
    case KZ_OPT_INT:
        errno = 0;
        n = strtoll(text, &end, 10);
        if (end == text || *end != '\0' || isspace((unsigned char)*text)) {
            snprintf(why, whylen, "must be an integer, not '%.100s'", text);
            return -1;
        }
        if (errno == ERANGE || n < o->min || n > o->max) {
            snprintf(why, whylen, "is %.100s, out of bounds [%" PRId64 ", %" PRId64 "]", text,
                     o->min, o->max);
            return -1;
        }
        v->i = n;
        return 0;
    }
    snprintf(why, whylen, "has an unknown type %d", (int)o->type);
    return -1;
}

/* Check the descriptor's option table; counts the options into p->noptions. */
static int
plugin_check_options(struct plugin *p, char *err, size_t errlen)
{
    const struct kz_plugin *d = p->desc;
    size_t n;

    p->noptions = 0;
    if (d->options == NULL) {
        return 0;
    }
    if (d->config_size > PLUGIN_MAX_CONFIG_SIZE) {
        plugin_errf(err, errlen, "%s: config_size %zu is larger than %d bytes", p->path,
                    d->config_size, PLUGIN_MAX_CONFIG_SIZE);
        return PLUGIN_ERR_INVALID;
    }
    for (n = 0; d->options[n].name != NULL; n++) {
        const struct kz_option *o = &d->options[n];
        union plugin_value v;
        char why[256];
        size_t size;
        size_t align;

        if (n >= PLUGIN_MAX_OPTIONS) {
            plugin_errf(err, errlen,
                        "%s: option table has more than %d entries (missing NULL-name end?)",
                        p->path, PLUGIN_MAX_OPTIONS);
            return PLUGIN_ERR_INVALID;
        }
        if (!plugin_name_valid(o->name)) {
            plugin_errf(err, errlen, "%s: option %zu has an invalid name '%.64s'", p->path, n,
                        o->name);
            return PLUGIN_ERR_INVALID;
        }
        for (size_t j = 0; j < n; j++) {
            if (strcmp(d->options[j].name, o->name) == 0) {
                plugin_errf(err, errlen, "%s: option '%s' is declared twice", p->path, o->name);
                return PLUGIN_ERR_INVALID;
            }
        }
        switch (o->type) {
        case KZ_OPT_STRING:
            size = sizeof(const char *);
            align = _Alignof(const char *);
            break;
        case KZ_OPT_INT:
            size = sizeof(int64_t);
            align = _Alignof(int64_t);
            break;
        case KZ_OPT_BOOL:
            size = sizeof(int);
            align = _Alignof(int);
            break;
        default:
            plugin_errf(err, errlen, "%s: option '%s' has an unknown type %d", p->path, o->name,
                        (int)o->type);
            return PLUGIN_ERR_INVALID;
        }
        if (o->offset > d->config_size || size > d->config_size - o->offset ||
            o->offset % align != 0) {
            plugin_errf(err, errlen,
                        "%s: option '%s' (%s) at offset %zu does not fit a config struct of "
                        "%zu bytes, or is misaligned",
                        p->path, o->name, plugin_type_name(o->type), o->offset, d->config_size);
            return PLUGIN_ERR_INVALID;
        }
        if (o->type == KZ_OPT_INT && o->min > o->max) {
            plugin_errf(err, errlen, "%s: option '%s' has min %" PRId64 " > max %" PRId64,
                        p->path, o->name, o->min, o->max);
            return PLUGIN_ERR_INVALID;
        }
        if (o->default_value != NULL && plugin_value_parse(o, o->default_value, &v, why,
                                                           sizeof(why)) != 0) {
            plugin_errf(err, errlen, "%s: default of option '%s' %s", p->path, o->name, why);
            return PLUGIN_ERR_INVALID;
        }
    }
    p->noptions = n;
    return 0;
}

/* Validate a freshly loaded descriptor (every check that does not involve the registry). */
static int
plugin_check_desc(struct plugin *p, char *err, size_t errlen)
{
    const struct kz_plugin *d = p->desc;

    if (d->abi_major != KZ_ABI_MAJOR) {
        plugin_errf(err, errlen,
                    "%s: plugin ABI major %u, this kizunad supports %d (rebuild the plugin "
                    "against this kizuna's <kizuna/plugin.h>)",
                    p->path, (unsigned)d->abi_major, KZ_ABI_MAJOR);
        return PLUGIN_ERR_ABI;
    }
    if (d->abi_minor > KZ_ABI_MINOR) {
        plugin_errf(err, errlen,
                    "%s: plugin ABI %u.%u is newer than this kizunad's %d.%d (upgrade kizuna)",
                    p->path, (unsigned)d->abi_major, (unsigned)d->abi_minor, KZ_ABI_MAJOR,
                    KZ_ABI_MINOR);
        return PLUGIN_ERR_ABI;
    }
    if (d->struct_size < PLUGIN_DESC_SIZE_1_0) {
        plugin_errf(err, errlen,
                    "%s: descriptor struct_size %" PRIu32 " is smaller than the ABI 1.0 "
                    "descriptor (%zu bytes)",
                    p->path, d->struct_size, PLUGIN_DESC_SIZE_1_0);
        return PLUGIN_ERR_ABI;
    }
    if (d->name == NULL || d->name[0] == '\0') {
        plugin_errf(err, errlen, "%s: descriptor has no name", p->path);
        return PLUGIN_ERR_INVALID;
    }
    if (d->init == NULL || d->emit == NULL || d->close == NULL) {
        plugin_errf(err, errlen, "%s: plugin '%.64s' has no %s callback", p->path, d->name,
                    d->init == NULL ? "init" : d->emit == NULL ? "emit" : "close");
        return PLUGIN_ERR_INVALID;
    }
    return 0;
}

static void
plugin_free(struct plugin *p)
{
    if (p == NULL) {
        return;
    }
    if (p->handle != NULL) {
        dlclose(p->handle);
    }
    free(p->name);
    free(p->path);
    free(p);
}

static const struct plugin *
plugin_registry_find(const struct plugin_registry *reg, const char *name)
{
    for (size_t i = 0; i < reg->n; i++) {
        if (strcmp(reg->v[i]->name, name) == 0) {
            return reg->v[i];
        }
    }
    return NULL;
}

/* Insert p keeping the registry sorted by name; takes ownership of p. */
static void
plugin_registry_insert(struct plugin_registry *reg, struct plugin *p)
{
    size_t at = 0;

    while (at < reg->n && strcmp(reg->v[at]->name, p->name) < 0) {
        at++;
    }
    reg->v = xreallocarray(reg->v, reg->n + 1, sizeof(*reg->v));
    memmove(&reg->v[at + 1], &reg->v[at], (reg->n - at) * sizeof(*reg->v));
    reg->v[at] = p;
    reg->n++;
}

/* Load <dir>/out_<name>.so, validate it and add it to the registry. */
static int
plugin_registry_open(struct plugin_registry *reg, const char *name, const struct plugin **out,
                     char *err, size_t errlen)
{
    struct plugin *p = xcalloc(1, sizeof(*p));
    const struct plugin *other;
    kz_plugin_entry_cb entry;
    void *sym;
    int r;

    p->name = xstrdup(name);
    p->path = xasprintf("%s/out_%s.so", reg->dir, name);
    r = plugin_check_mode(reg->dir, 1, err, errlen);
    if (r != 0) {
        goto out;
    }
    r = plugin_check_mode(p->path, 0, err, errlen);
    if (r == PLUGIN_ERR_NOTFOUND) {
        plugin_errf(err, errlen, "%s: no such file (no plugin '%s' in %s)", p->path, name,
                    reg->dir);
    }
    if (r != 0) {
        goto out;
    }
    p->handle = dlopen(p->path, RTLD_NOW | RTLD_LOCAL);
    if (p->handle == NULL) {
        const char *why = dlerror();
        plugin_errf(err, errlen, "%s: dlopen failed: %s", p->path, why ? why : "unknown error");
        r = PLUGIN_ERR_DLOPEN;
        goto out;
    }
    dlerror();
    sym = dlsym(p->handle, KZ_PLUGIN_ENTRY_SYMBOL);
    if (sym == NULL) {
        plugin_errf(err, errlen,
                    "%s: no " KZ_PLUGIN_ENTRY_SYMBOL " symbol (not a kizuna plugin, or the "
                    "entry point is not exported)",
                    p->path);
        r = PLUGIN_ERR_SYMBOL;
        goto out;
    }
    memcpy(&entry, &sym, sizeof(entry));
    p->desc = entry();
    if (p->desc == NULL) {
        plugin_errf(err, errlen, "%s: " KZ_PLUGIN_ENTRY_SYMBOL "() returned NULL", p->path);
        r = PLUGIN_ERR_SYMBOL;
        goto out;
    }
    r = plugin_check_desc(p, err, errlen);
    if (r != 0) {
        goto out;
    }
    other = plugin_registry_find(reg, p->desc->name);
    if (other != NULL) {
        plugin_errf(err, errlen, "%s: plugin name '%.64s' is already loaded from %s", p->path,
                    p->desc->name, other->path);
        r = PLUGIN_ERR_DUPLICATE;
        goto out;
    }
    if (strcmp(p->desc->name, name) != 0) {
        plugin_errf(err, errlen,
                    "%s: plugin declares name '%.64s' but its file name says '%s' (out_%s.so "
                    "must declare \"%s\")",
                    p->path, p->desc->name, name, name, name);
        r = PLUGIN_ERR_INVALID;
        goto out;
    }
    r = plugin_check_options(p, err, errlen);
    if (r != 0) {
        goto out;
    }
    log_debug("loaded plugin %s %s (ABI %u.%u) from %s", name,
              p->desc->version ? p->desc->version : "-", (unsigned)p->desc->abi_major,
              (unsigned)p->desc->abi_minor, p->path);
    plugin_registry_insert(reg, p);
    *out = p;
    p = NULL;
out:
    plugin_free(p);
    return r;
}

struct plugin_registry *
plugin_registry_new(const char *dir)
{
    struct plugin_registry *reg = xcalloc(1, sizeof(*reg));
    size_t len = strlen(dir);

    /* Keep messages tidy: "/dir/out_x.so", not "/dir//out_x.so". */
    while (len > 1 && dir[len - 1] == '/') {
        len--;
    }
    reg->dir = xstrndup(dir, len);
    return reg;
}

void
plugin_registry_free(struct plugin_registry *reg)
{
    if (reg == NULL) {
        return;
    }
    for (size_t i = 0; i < reg->n; i++) {
        plugin_free(reg->v[i]);
    }
    free(reg->v);
    free(reg->dir);
    free(reg);
}

const char *
plugin_registry_dir(const struct plugin_registry *reg)
{
    return reg->dir;
}

int
plugin_registry_load(struct plugin_registry *reg, const char *name, const struct plugin **out,
                     char *err, size_t errlen)
{
    const struct plugin *p;

    *out = NULL;
    if (name == NULL || !plugin_name_valid(name)) {
        plugin_errf(err, errlen,
                    "invalid plugin name '%.64s' (letters, digits, '_' and '-' only; the file "
                    "is out_<name>.so in %s)",
                    name ? name : "", reg->dir);
        return PLUGIN_ERR_NOTFOUND;
    }
    p = plugin_registry_find(reg, name);
    if (p != NULL) {
        *out = p;
        return 0;
    }
    return plugin_registry_open(reg, name, out, err, errlen);
}

static int
plugin_cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int
plugin_registry_load_all(struct plugin_registry *reg, struct errlist *errs)
{
    char err[1024];
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    DIR *d = NULL;
    int r;

    r = plugin_check_mode(reg->dir, 1, err, sizeof(err));
    if (r != 0) {
        errlist_add_raw(errs, err);
        goto out;
    }
    d = opendir(reg->dir);
    if (d == NULL) {
        snprintf(err, sizeof(err), "%s: opendir failed: %s", reg->dir, strerror(errno));
        errlist_add_raw(errs, err);
        r = PLUGIN_ERR_NOTFOUND;
        goto out;
    }
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);

        if (len > 7 && strncmp(de->d_name, "out_", 4) == 0 &&
            strcmp(de->d_name + len - 3, ".so") == 0) {
            names = xreallocarray(names, n + 1, sizeof(*names));
            names[n++] = xstrndup(de->d_name + 4, len - 7);
        }
    }
    qsort(names, n, sizeof(*names), plugin_cmp_names);
    for (size_t i = 0; i < n; i++) {
        const struct plugin *p;
        int e;

        if (!plugin_name_valid(names[i])) {
            snprintf(err, sizeof(err), "%s/out_%s.so: invalid plugin name '%s' (letters, "
                     "digits, '_' and '-' only)", reg->dir, names[i], names[i]);
            e = PLUGIN_ERR_NOTFOUND;
        } else {
            e = plugin_registry_load(reg, names[i], &p, err, sizeof(err));
        }
        if (e != 0) {
            errlist_add_raw(errs, err);
            r = e;
        }
    }
out:
    if (d != NULL) {
        closedir(d);
    }
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    return r;
}

size_t
plugin_registry_count(const struct plugin_registry *reg)
{
    return reg->n;
}

const struct plugin *
plugin_registry_get(const struct plugin_registry *reg, size_t i)
{
    return i < reg->n ? reg->v[i] : NULL;
}

const char *
plugin_name(const struct plugin *p)
{
    return p->name;
}

const char *
plugin_path(const struct plugin *p)
{
    return p->path;
}

const struct kz_plugin *
plugin_descriptor(const struct plugin *p)
{
    return p->desc;
}

void
plugin_describe(const struct plugin *p, FILE *out)
{
    const struct kz_plugin *d = p->desc;

    fprintf(out, "%s %s (ABI %u.%u): %s\n", p->name, d->version ? d->version : "-",
            (unsigned)d->abi_major, (unsigned)d->abi_minor,
            d->description ? d->description : "(no description)");
    fprintf(out, "  file: %s\n", p->path);
    if (p->noptions == 0) {
        fprintf(out, "  no options\n");
    }
    for (size_t i = 0; i < p->noptions; i++) {
        const struct kz_option *o = &d->options[i];

        fprintf(out, "  option %s (%s", o->name, plugin_type_name(o->type));
        if (o->default_value != NULL) {
            fprintf(out, ", default %s", o->default_value);
        } else {
            fprintf(out, ", no default");
        }
        if (o->type == KZ_OPT_INT) {
            fprintf(out, ", %" PRId64 "..%" PRId64, o->min, o->max);
        }
        fprintf(out, "): %s\n", o->help ? o->help : "");
    }
}

static int
plugin_is_host_key(const char *key, const char *const *host_keys)
{
    for (size_t i = 0; host_keys != NULL && host_keys[i] != NULL; i++) {
        if (strcmp(host_keys[i], key) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Store v in the option's slot of config; strings are copied into inst->strings. */
static void
plugin_value_store(struct plugin_instance *inst, const struct kz_option *o,
                   const union plugin_value *v)
{
    char *slot = (char *)inst->config + o->offset;
    char *s;

    switch (o->type) {
    case KZ_OPT_STRING:
        s = xstrdup(v->s);
        inst->strings = xreallocarray(inst->strings, inst->nstrings + 1, sizeof(char *));
        inst->strings[inst->nstrings++] = s;
        memcpy(slot, &s, sizeof(s));
        break;
    case KZ_OPT_INT:
        memcpy(slot, &v->i, sizeof(v->i));
        break;
    case KZ_OPT_BOOL:
        memcpy(slot, &v->b, sizeof(v->b));
        break;
    }
}

/*
 * Check the options of entry against p's table; with inst != NULL also fill inst->config
 * (values, then defaults). Returns 0 or PLUGIN_ERR_OPTION with reasons in errs.
 */
static int
plugin_options_apply(const struct plugin *p, const char *instance_name,
                     const struct ynode *entry, const char *const *host_keys, const char *file,
                     struct plugin_instance *inst, struct errlist *errs)
{
    const struct kz_option *opts = p->desc->options;
    unsigned char set[PLUGIN_MAX_OPTIONS] = {0};
    union plugin_value v;
    char why[256];
    int r = 0;

    if (entry == NULL || entry->type != YNODE_MAP) {
        errlist_add(errs, file, entry ? entry->line : 0, entry ? entry->col : 0,
                    "output '%s': expected a map, got a %s", instance_name,
                    entry ? ynode_type_name(entry) : "nothing");
        return PLUGIN_ERR_OPTION;
    }
    for (size_t k = 0; k < entry->n; k++) {
        const struct ynode *key = entry->keys[k];
        const struct ynode *val = entry->items[k];
        size_t i;

        if (plugin_is_host_key(key->str, host_keys)) {
            continue;
        }
        for (i = 0; i < p->noptions && strcmp(opts[i].name, key->str) != 0; i++) {
        }
        if (i == p->noptions) {
            struct buf list;

            buf_init(&list);
            for (size_t j = 0; j < p->noptions; j++) {
                buf_printf(&list, "%s%s", j ? ", " : "", opts[j].name);
            }
            errlist_add(errs, file, key->line, key->col,
                        "output '%s': plugin '%s' has no option '%.100s' (%s%s)", instance_name,
                        p->name, key->str, p->noptions ? "options: " : "it has no options",
                        buf_cstr(&list));
            buf_free(&list);
            r = PLUGIN_ERR_OPTION;
            continue;
        }
        if (val->type != YNODE_SCALAR) {
            errlist_add(errs, file, val->line, val->col,
                        "output '%s': plugin '%s' option '%s' must be %s, not a %s",
                        instance_name, p->name, opts[i].name,
                        opts[i].type == KZ_OPT_BOOL  ? "true or false"
                        : opts[i].type == KZ_OPT_INT ? "an integer"
                                                     : "a string",
                        ynode_type_name(val));
            r = PLUGIN_ERR_OPTION;
            continue;
        }
        if (ynode_is_null(val)) {
            continue; /* "key:" or "key: ~" leaves the default */
        }
        if (plugin_value_parse(&opts[i], val->str, &v, why, sizeof(why)) != 0) {
            errlist_add(errs, file, val->line, val->col, "output '%s': plugin '%s' option '%s' %s",
                        instance_name, p->name, opts[i].name, why);
            r = PLUGIN_ERR_OPTION;
            continue;
        }
        set[i] = 1;
        if (inst != NULL) {
            plugin_value_store(inst, &opts[i], &v);
        }
    }
    for (size_t i = 0; inst != NULL && i < p->noptions; i++) {
        if (set[i] || opts[i].default_value == NULL) {
            continue;
        }
        /* Defaults were checked when the plugin was loaded. */
        if (plugin_value_parse(&opts[i], opts[i].default_value, &v, why, sizeof(why)) == 0) {
            plugin_value_store(inst, &opts[i], &v);
        }
    }
    return r;
}

int
plugin_options_check(const struct plugin *p, const char *instance_name,
                     const struct ynode *entry, const char *const *host_keys, const char *file,
                     struct errlist *errs)
{
    return plugin_options_apply(p, instance_name, entry, host_keys, file, NULL, errs);
}

int
plugin_instance_new(const struct plugin *p, const char *instance_name,
                    const struct ynode *entry, const char *const *host_keys, const char *file,
                    struct plugin_instance **out, struct errlist *errs)
{
    const struct kz_plugin *d = p->desc;
    struct plugin_instance *inst = xcalloc(1, sizeof(*inst));
    int line = entry ? entry->line : 0;
    int col = entry ? entry->col : 0;
    int st;
    int r;

    *out = NULL;
    inst->plugin = p;
    inst->name = xstrdup(instance_name != NULL ? instance_name : "");
    inst->tag = xasprintf("out_%s:%s", p->name, inst->name);
    inst->config = xcalloc(1, d->config_size > 0 ? d->config_size : 1);
    r = plugin_options_apply(p, instance_name, entry, host_keys, file, inst, errs);
    if (r != 0) {
        goto out;
    }
    st = d->init(plugin_host_get(), (const struct kz_instance *)(void *)inst, inst->config,
                 &inst->state);
    if (st != KZ_OK) {
        errlist_add(errs, file, line, col, "output '%s': plugin '%s' init failed (%s)",
                    instance_name, p->name, plugin_status_name(st));
        r = PLUGIN_ERR_INIT;
        goto out;
    }
    inst->ready = 1;
    if (d->open != NULL) {
        st = d->open(inst->state);
        if (st != KZ_OK) {
            errlist_add(errs, file, line, col, "output '%s': plugin '%s' open failed (%s)",
                        instance_name, p->name, plugin_status_name(st));
            r = PLUGIN_ERR_INIT;
            goto out;
        }
    }
    *out = inst;
    inst = NULL;
out:
    plugin_instance_free(inst);
    return r;
}

/* Map a plugin's return value to a kz_status and count it. */
static int
plugin_instance_status(struct plugin_instance *inst, int st, const char *what)
{
    switch (st) {
    case KZ_OK:
        return KZ_OK;
    case KZ_RETRY:
        inst->stats.retry++;
        return KZ_RETRY;
    case KZ_AGAIN:
        inst->stats.again++;
        return KZ_AGAIN;
    case KZ_ERR:
        inst->stats.errors++;
        return KZ_ERR;
    }
    inst->stats.errors++;
    if (log_level >= LOG_LVL_WARNING) {
        log_write(LOG_LVL_WARNING, inst->tag, "%s returned unknown status %d, taken as ERR", what,
                  st);
    }
    return KZ_ERR;
}

int
plugin_instance_emit(struct plugin_instance *inst, const struct alert *a, struct buf *out)
{
    size_t mark = out->len;
    int st;

    st = inst->plugin->desc->emit(inst->state, plugin_host_alert(a), plugin_host_buf(out));
    st = plugin_instance_status(inst, st, "emit");
    if (st != KZ_OK) {
        buf_truncate(out, mark);
        return st;
    }
    inst->stats.emitted++;
    return KZ_OK;
}

int
plugin_instance_flush(struct plugin_instance *inst, struct buf *out)
{
    size_t mark = out->len;
    int st;

    if (inst->plugin->desc->flush == NULL) {
        return KZ_OK;
    }
    st = inst->plugin->desc->flush(inst->state, plugin_host_buf(out));
    st = plugin_instance_status(inst, st, "flush");
    if (st != KZ_OK) {
        buf_truncate(out, mark);
    }
    return st;
}

void
plugin_instance_free(struct plugin_instance *inst)
{
    if (inst == NULL) {
        return;
    }
    if (inst->ready) {
        inst->plugin->desc->close(inst->state);
    }
    for (size_t i = 0; i < inst->nstrings; i++) {
        free(inst->strings[i]);
    }
    free(inst->strings);
    free(inst->config);
    free(inst->tag);
    free(inst->name);
    free(inst);
}

const char *
plugin_instance_name(const struct plugin_instance *inst)
{
    return inst->name;
}

const char *
plugin_instance_tag(const struct plugin_instance *inst)
{
    return inst->tag;
}

const struct plugin *
plugin_instance_plugin(const struct plugin_instance *inst)
{
    return inst->plugin;
}

void
plugin_instance_get_stats(const struct plugin_instance *inst, struct plugin_instance_stats *out)
{
    *out = inst->stats;
}
