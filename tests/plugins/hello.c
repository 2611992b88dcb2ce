/*
 * out_hello: one line per alert, "<greeting> <rule id> <time>". The minimal complete
 * plugin of docs/PLUGINS.md and kizuna-plugin(3); the tests build and run this file.
 */
#include <stddef.h>
#include <stdlib.h>

#include <kizuna/plugin.h>

struct hello_config {
    const char *greeting;
};

static const struct kz_option hello_options[] = {
    {"greeting", KZ_OPT_STRING, "hello", 0, 0, offsetof(struct hello_config, greeting),
     "first word of each line"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

struct hello {
    const struct kz_host *host;
    const struct hello_config *cfg;
};

static int
hello_init(const struct kz_host *host, const struct kz_instance *inst, void *config,
           void **state)
{
    struct hello *h = calloc(1, sizeof(*h));

    if (h == NULL) {
        return KZ_ERR;
    }
    h->host = host;
    h->cfg = config;
    *state = h;
    return KZ_OK;
}

static int
hello_emit(void *state, const struct kz_alert *alert, struct kz_buf *buf)
{
    struct hello *h = state;
    const char *rule = h->host->alert_str(alert, KZ_ALERT_RULE_ID);

    h->host->buf_printf(buf, "%s %s ", h->cfg->greeting, rule ? rule : "-");
    h->host->buf_time(buf, h->host->alert_time(alert, KZ_TIME_ALERT));
    h->host->buf_append(buf, "\n", 1);
    return KZ_OK;
}

static void
hello_close(void *state)
{
    free(state);
}

static const struct kz_plugin hello_plugin = {
    .abi_major = KZ_ABI_MAJOR,
    .abi_minor = KZ_ABI_MINOR,
    .struct_size = sizeof(struct kz_plugin),
    .name = "hello",
    .version = "1.0",
    .description = "one greeting line per alert",
    .options = hello_options,
    .config_size = sizeof(struct hello_config),
    .init = hello_init,
    .emit = hello_emit,
    .close = hello_close,
};

const struct kz_plugin *
kz_plugin_entry(void)
{
    return &hello_plugin;
}
