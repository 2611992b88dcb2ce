/*
 * The host side of the output-plugin boundary (internal; plugins include only
 * <kizuna/plugin.h>):
 *
 *   - a registry that finds plugin `X` as file out_X.so in one directory, dlopen()s it once,
 *     checks its descriptor (ABI version, struct size, callbacks, name, option table) and
 *     caches it by name (plugin.c);
 *   - plugin instances: one configured use of a plugin (a partner/output entry), whose
 *     option struct the host fills from the YAML entry, then init() + open() (plugin.c);
 *   - the struct kz_host services handed to plugins: accessors over struct alert, and the
 *     struct buf output buffer (plugin-host.c).
 *
 * Everything here runs on the event-loop thread (or at start-up). Loading refuses, with a
 * message naming the file: a missing file, a dlopen failure, no kz_plugin_entry symbol, a
 * NULL descriptor, another ABI major, a newer minor, a short descriptor, a missing name or
 * init/emit/close, a name that differs from the file's, a name already loaded from another
 * file, a bad option table, and a plugin directory or .so that is group/world-writable or
 * owned by a user other than root and the daemon's own.
 *
 * Lifetimes: the registry owns every plugin (the dlopen handles); instances point into it,
 * so free every instance before the registry. A registry is meant to live as long as the
 * daemon: a SIGHUP reload builds new instances from the same registry (a plugin is loaded
 * once per name, so a .so replaced on disk is picked up at the next start, not on reload;
 * dlclose()ing code that old instances may still run is not worth the risk).
 */
#ifndef KZ_PLUGIN_LOADER_H
#define KZ_PLUGIN_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <kizuna/plugin.h>

#include "alert.h"
#include "buf.h"
#include "errlist.h"
#include "yaml-tree.h"

/* Error codes of the loader and instances (0 is success). */
enum plugin_error {
    PLUGIN_ERR_NOTFOUND = -1, /* no out_<name>.so in the directory, or a bad plugin name */
    PLUGIN_ERR_PERM = -2,     /* directory or file group/world-writable, or not a file */
    PLUGIN_ERR_DLOPEN = -3,   /* dlopen() failed */
    PLUGIN_ERR_SYMBOL = -4,   /* no kz_plugin_entry symbol, or it returned NULL */
    PLUGIN_ERR_ABI = -5,      /* ABI major/minor or struct_size not acceptable */
    PLUGIN_ERR_INVALID = -6,  /* descriptor incomplete, name mismatch, bad option table */
    PLUGIN_ERR_DUPLICATE = -7, /* another file already declared that name */
    PLUGIN_ERR_OPTION = -8,   /* the instance's options are wrong (see the errlist) */
    PLUGIN_ERR_INIT = -9,     /* the plugin's init() or open() failed */
};

/* A static string describing a plugin_error code, or "unknown error". */
const char *plugin_strerror(int code);
/* Name of a kz_status value ("OK", "RETRY", "AGAIN", "ERR") or "unknown status". */
const char *plugin_status_name(int status);

struct plugin;          /* one loaded plugin (.so + validated descriptor); registry-owned */
struct plugin_registry; /* the plugins of one directory, by name */
struct plugin_instance; /* one configured use of a plugin */

/*
 * A new, empty registry for the plugins in dir (copied). Nothing is opened until a load.
 * Caller frees with plugin_registry_free().
 */
struct plugin_registry *plugin_registry_new(const char *dir);
/* dlclose() every plugin and free the registry. Instances must be freed before. NULL ok. */
void plugin_registry_free(struct plugin_registry *reg);
/* The directory the registry loads from (owned by the registry). */
const char *plugin_registry_dir(const struct plugin_registry *reg);

/*
 * Load plugin `name` from <dir>/out_<name>.so, or return it from the cache when it was
 * loaded before. On success returns 0 and *out (owned by the registry). On failure returns a
 * negative plugin_error and writes a one-line message naming the file into err (if errlen
 * > 0), e.g. "/usr/lib/kizuna/out_x.so: ABI major 2, host supports 1". A failed load is
 * not cached: a later call tries again.
 */
int plugin_registry_load(struct plugin_registry *reg, const char *name, const struct plugin **out,
                         char *err, size_t errlen);
/*
 * Load every out_*.so of the directory, in name order (for kizunad --list-plugins). Each
 * refused file adds one message to errs (copied) and the others still load. Returns 0 when
 * every file loaded, PLUGIN_ERR_PERM/PLUGIN_ERR_NOTFOUND when the directory itself cannot be
 * used, or the last file's error code when some file was refused.
 */
int plugin_registry_load_all(struct plugin_registry *reg, struct errlist *errs);
/* Number of loaded plugins, and the i-th in name order (registry-owned). */
size_t plugin_registry_count(const struct plugin_registry *reg);
const struct plugin *plugin_registry_get(const struct plugin_registry *reg, size_t i);

/* The plugin's name ("json"), its file path, and its validated descriptor. */
const char *plugin_name(const struct plugin *p);
const char *plugin_path(const struct plugin *p);
const struct kz_plugin *plugin_descriptor(const struct plugin *p);

/*
 * Write a human-readable description for kizunad --list-plugins: name, version, ABI
 * major.minor, file, description, then one line per option with its type, default, bounds
 * and help.
 */
void plugin_describe(const struct plugin *p, FILE *out);

/*
 * Check the options of a configured use of plugin p without instantiating it
 * (kizunad --check-config): entry is the YAML map of the output/partner, its keys listed in
 * host_keys (NULL-terminated; "name", "plugin", "deliver" ...) belong to the host and are
 * skipped; every other key must be an option of the plugin, of the right type and within
 * bounds. Each problem is appended to errs as "FILE:LINE:COL: output 'NAME': ..." (file is
 * the config path, for messages). Returns 0 or PLUGIN_ERR_OPTION.
 */
int plugin_options_check(const struct plugin *p, const char *instance_name,
                         const struct ynode *entry, const char *const *host_keys,
                         const char *file, struct errlist *errs);

/*
 * Instantiate plugin p for the output/partner instance_name: check and fill the plugin's
 * config struct from entry (as plugin_options_check(), defaults applied), then call the
 * plugin's init() and open(). On success returns 0 and *out (caller frees with
 * plugin_instance_free()). On failure returns PLUGIN_ERR_OPTION or PLUGIN_ERR_INIT, *out is
 * NULL, and errs holds the reasons (FILE:LINE:COL of the entry). If open() fails the host
 * calls close(); if init() fails the plugin must have released what it took.
 */
int plugin_instance_new(const struct plugin *p, const char *instance_name,
                        const struct ynode *entry, const char *const *host_keys,
                        const char *file, struct plugin_instance **out, struct errlist *errs);
/*
 * Format alert a: the plugin appends its bytes to out. Returns the plugin's kz_status
 * (KZ_OK, KZ_RETRY, KZ_AGAIN, KZ_ERR; an unknown value is treated as KZ_ERR). When the
 * status is not KZ_OK, out is truncated back to its length before the call, so a failed
 * emit never leaves partial bytes. The alert is only read, and only during the call.
 */
int plugin_instance_emit(struct plugin_instance *inst, const struct alert *a, struct buf *out);
/* Let the plugin append anything it batched (no-op for plugins without flush). As emit. */
int plugin_instance_flush(struct plugin_instance *inst, struct buf *out);
/* Call the plugin's close(), then free the config, its strings and the instance. NULL ok. */
void plugin_instance_free(struct plugin_instance *inst);
/* The instance's name ("soc") and its log tag ("out_json:soc"); instance-owned. */
const char *plugin_instance_name(const struct plugin_instance *inst);
const char *plugin_instance_tag(const struct plugin_instance *inst);
const struct plugin *plugin_instance_plugin(const struct plugin_instance *inst);

/* Counters of one instance, for metrics and the shutdown summary. */
struct plugin_instance_stats {
    uint64_t emitted; /* emits that returned KZ_OK */
    uint64_t retry;   /* KZ_RETRY */
    uint64_t again;   /* KZ_AGAIN */
    uint64_t errors;  /* KZ_ERR or an unknown status */
};
void plugin_instance_get_stats(const struct plugin_instance *inst,
                               struct plugin_instance_stats *out);

/*
 * The struct kz_host handed to every plugin's init() (plugin-host.c): static, valid for the
 * life of the process. Its accessors read a struct alert cast to struct kz_alert, and its
 * buffer functions write a struct buf cast to struct kz_buf; host code converts with the
 * helpers below.
 */
const struct kz_host *plugin_host_get(void);
const struct kz_alert *plugin_host_alert(const struct alert *a);
struct kz_buf *plugin_host_buf(struct buf *b);

#endif
