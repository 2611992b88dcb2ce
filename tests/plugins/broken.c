/*
 * Deliberately broken plugins, built only for the tests (never installed): one .so per way
 * a plugin can be wrong, selected by a -DBROKEN_<WHAT> flag (core/plugin.am). Without any
 * flag it is a minimal correct plugin named BROKEN_NAME (used for the duplicate-name test).
 * test-plugin.c checks that the loader refuses each with a message naming the file.
 */
#include <stddef.h>
#include <stdint.h>

#include <kizuna/plugin.h>

#ifndef BROKEN_NAME
#error "BROKEN_NAME must be defined"
#endif

struct broken_config {
    int64_t n;
};

#ifdef BROKEN_BADOPT
/* A default outside its own bounds: the table is refused at load. */
static const struct kz_option broken_options[] = {
    {"n", KZ_OPT_INT, "11", 1, 10, offsetof(struct broken_config, n), "bounded 1..10"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};
#elif defined(BROKEN_BADOFFSET)
/* An option slot past the end of the config struct. */
static const struct kz_option broken_options[] = {
    {"n", KZ_OPT_INT, "1", 1, 10, sizeof(struct broken_config), "outside the struct"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};
#else
static const struct kz_option broken_options[] = {
    {"n", KZ_OPT_INT, "1", 1, 10, offsetof(struct broken_config, n), "bounded 1..10"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};
#endif

#ifdef BROKEN_UNDEFINED
/* Never defined anywhere: dlopen(RTLD_NOW) must fail. */
extern int kz_test_no_such_function(void);
#endif

static int
broken_init(const struct kz_host *host, const struct kz_instance *inst, void *config,
            void **state)
{
#ifdef BROKEN_UNDEFINED
    return kz_test_no_such_function();
#else
    *state = NULL;
    return KZ_OK;
#endif
}

#ifndef BROKEN_NOEMIT
static int
broken_emit(void *state, const struct kz_alert *alert, struct kz_buf *buf)
{
    return KZ_OK;
}
#endif

static void
broken_close(void *state)
{
}

static const struct kz_plugin broken_plugin = {
#ifdef BROKEN_ABIMAJOR
    .abi_major = KZ_ABI_MAJOR + 1,
#else
    .abi_major = KZ_ABI_MAJOR,
#endif
#ifdef BROKEN_ABIMINOR
    .abi_minor = KZ_ABI_MINOR + 1,
#else
    .abi_minor = KZ_ABI_MINOR,
#endif
#ifdef BROKEN_SHORT
    .struct_size = offsetof(struct kz_plugin, emit),
#else
    .struct_size = sizeof(struct kz_plugin),
#endif
#ifdef BROKEN_NONAME
    .name = NULL,
#else
    .name = BROKEN_NAME,
#endif
    .version = "0",
    .description = "deliberately broken test plugin",
    .options = broken_options,
    .config_size = sizeof(struct broken_config),
    .init = broken_init,
#ifdef BROKEN_NOEMIT
    .emit = NULL,
#else
    .emit = broken_emit,
#endif
    .close = broken_close,
};

#ifdef BROKEN_NOENTRY
/* Exports something, but not kz_plugin_entry. */
KZ_EXPORT const struct kz_plugin *kz_plugin_entry_typo(void);

const struct kz_plugin *
kz_plugin_entry_typo(void)
{
    return &broken_plugin;
}
#else
const struct kz_plugin *
kz_plugin_entry(void)
{
#ifdef BROKEN_NULLDESC
    (void)&broken_plugin;
    return NULL;
#else
    return &broken_plugin;
#endif
}
#endif
