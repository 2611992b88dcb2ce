/*
 * The plugin loader and registry, and plugin instances (plugin-loader.h).
 * STUB: bodies being written; the API in plugin-loader.h is final.
 */
#include <stdlib.h>
#include <string.h>

#include "plugin-loader.h"
#include "xmalloc.h"

struct plugin_registry {
    char *dir;
};

const char *
plugin_strerror(int code)
{
    (void)code;
    return "unknown error";
}

const char *
plugin_status_name(int status)
{
    (void)status;
    return "unknown status";
}

struct plugin_registry *
plugin_registry_new(const char *dir)
{
    struct plugin_registry *reg = xcalloc(1, sizeof(*reg));

    reg->dir = xstrdup(dir);
    return reg;
}

void
plugin_registry_free(struct plugin_registry *reg)
{
    if (reg == NULL) {
        return;
    }
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
    *out = NULL;
    if (errlen > 0) {
        snprintf(err, errlen, "%s/out_%s.so: not implemented yet", reg->dir, name);
    }
    return PLUGIN_ERR_NOTFOUND;
}

int
plugin_registry_load_all(struct plugin_registry *reg, struct errlist *errs)
{
    return 0;
}

size_t
plugin_registry_count(const struct plugin_registry *reg)
{
    return 0;
}

const struct plugin *
plugin_registry_get(const struct plugin_registry *reg, size_t i)
{
    return NULL;
}

const char *
plugin_name(const struct plugin *p)
{
    return NULL;
}

const char *
plugin_path(const struct plugin *p)
{
    return NULL;
}

const struct kz_plugin *
plugin_descriptor(const struct plugin *p)
{
    return NULL;
}

void
plugin_describe(const struct plugin *p, FILE *out)
{
}

int
plugin_options_check(const struct plugin *p, const char *instance_name,
                     const struct ynode *entry, const char *const *host_keys, const char *file,
                     struct errlist *errs)
{
    return PLUGIN_ERR_OPTION;
}

int
plugin_instance_new(const struct plugin *p, const char *instance_name,
                    const struct ynode *entry, const char *const *host_keys, const char *file,
                    struct plugin_instance **out, struct errlist *errs)
{
    *out = NULL;
    return PLUGIN_ERR_INIT;
}

int
plugin_instance_emit(struct plugin_instance *inst, const struct alert *a, struct buf *out)
{
    return KZ_ERR;
}

int
plugin_instance_flush(struct plugin_instance *inst, struct buf *out)
{
    return KZ_OK;
}

void
plugin_instance_free(struct plugin_instance *inst)
{
}

const char *
plugin_instance_name(const struct plugin_instance *inst)
{
    return NULL;
}

const char *
plugin_instance_tag(const struct plugin_instance *inst)
{
    return NULL;
}

const struct plugin *
plugin_instance_plugin(const struct plugin_instance *inst)
{
    return NULL;
}

void
plugin_instance_get_stats(const struct plugin_instance *inst, struct plugin_instance_stats *out)
{
    memset(out, 0, sizeof(*out));
}
