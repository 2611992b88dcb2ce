/*
 * Test helper for the exchange-format plugin tests (test-formats*.c): a fixed corpus of
 * hand-built alerts (detection and correlation, IPv4 and IPv6, every TLP label, unicode,
 * hostile and invalid-UTF-8 strings, an alert with no fields at all), and loading a
 * shipped plugin from $KIZUNA_PLUGIN_DIR through the host's loader.
 */
#ifndef KZ_TEST_FORMATS_ALERTS_H
#define KZ_TEST_FORMATS_ALERTS_H

#include <stddef.h>

#include "alert.h"
#include "plugin-loader.h"

/* The exchange-format plugins, in the order the tests visit them. */
extern const char *const formats_plugins[];
extern const size_t formats_nplugins;

/* Number of alerts in the corpus, and a short name for each ("det-ipv4" ...). */
size_t formats_nalerts(void);
const char *formats_alert_name(size_t i);
/* Build alert i of the corpus (caller frees with alert_free()). */
struct alert *formats_alert(size_t i);

/*
 * A staged plugin directory with plugins names[0..n) copied from $KIZUNA_PLUGIN_DIR, and a
 * registry over it. formats_env_open() returns 0 or -1 (a TAP diagnostic says which file
 * was missing).
 */
struct formats_env {
    char *dir;
    struct plugin_registry *reg;
};
int formats_env_open(struct formats_env *env, const char *const *names, size_t n);
void formats_env_close(struct formats_env *env);

/*
 * Instantiate plugin `name` with the YAML options text (may be "" for defaults). Returns the
 * instance (caller frees with plugin_instance_free()) or NULL with TAP diagnostics.
 */
struct plugin_instance *formats_instance(struct formats_env *env, const char *name,
                                         const char *options);
/* Free the YAML trees formats_instance() kept alive. */
void formats_yaml_free(void);

#endif
