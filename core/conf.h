/*
 * The daemon's configuration: one YAML file, every section checked against a key table
 * (type, default, bounds, help) in conf.c. The same tables drive --check-config and the
 * reference in docs/CONFIG.md. Unknown keys are errors naming FILE:LINE:COL.
 *
 * A struct conf is immutable once loaded. SIGHUP loads a new one beside the old one and
 * swaps only if it is valid.
 */
#ifndef KZ_CONF_H
#define KZ_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "errlist.h"
#include "yaml-tree.h"

enum conf_input_type { INPUT_KAFKA, INPUT_FILE, INPUT_STDIN };

enum conf_late_policy { LATE_DROP, LATE_DEAD_LETTER, LATE_PROCESS };

/* state.backend and state.on_unavailable (docs/STATE.md). */
enum conf_state_backend { STATE_BACKEND_MEMORY, STATE_BACKEND_REDIS };
enum conf_state_unavailable { STATE_UNAVAILABLE_PAUSE, STATE_UNAVAILABLE_MEMORY };

struct conf_input {
    enum conf_input_type type;
    enum decode_format format;
    char *name; /* "kafka:topics", the path, or "stdin"; used in logs and dead letters */
    int line;   /* where it was defined */
    /* kafka */
    char *brokers;
    char **topics;
    size_t ntopics;
    char *group;
    char **props; /* librdkafka properties: key, value, key, value ... */
    size_t nprops;
    int64_t commit_interval_ms;
    int64_t partitions; /* topics created by the embedded cluster */
    /* file */
    char *path;
    int follow;
    int64_t poll_interval_ms;
};

/* TLP 2.0 labels, in order of increasing restriction. */
enum conf_tlp { TLP_CLEAR = 0, TLP_GREEN, TLP_AMBER, TLP_AMBER_STRICT, TLP_RED };

/*
 * A partner: alerts that pass its filter and its TLP clearance are formatted by a format
 * plugin and delivered. An `outputs:` entry is a partner with no filter, no privacy profile
 * and a file (path) delivery.
 */
struct conf_output {
    char *name;
    char *plugin;                /* format plugin name: out_<plugin>.so */
    char *path;                  /* outputs: file to append to, "-" for stdout; else NULL */
    const struct ynode *deliver; /* partners: the deliver map (see deliver.h); else NULL */
    const struct ynode *entry;   /* the YAML map, for the plugin's own options */
    int is_partner;              /* from partners: (host keys differ) */
    /* filter: */
    int min_level;               /* enum rule_level, -1: any */
    char **tags;                 /* fnmatch globs; an alert passes if a tag matches one */
    size_t ntags;
    char **rule_globs;           /* fnmatch globs on rule ids */
    size_t nrule_globs;
    enum conf_tlp tlp;           /* clearance: alerts with a higher TLP are not sent */
    char *privacy;               /* privacy profile name, or NULL */
    int line;
};

/* How a privacy profile transforms IP address fields. */
enum conf_ip_method { CONF_IP_TRUNCATE = 0, CONF_IP_PREFIX_PRESERVING };

/*
 * A privacy profile (`privacy_profiles:` NAME: map), applied to the alerts of the partners
 * that name it (privacy.c, docs/PRIVACY.md). Lists are fnmatch globs on field names unless
 * said otherwise; key files are paths resolved against the config's directory. The key
 * files are read by privacy_set_new(), not here.
 */
struct conf_privacy {
    char *name;
    const struct ynode *entry; /* the profile's YAML map, for positions */
    int line;
    int has_keep;              /* keep: given: an allowlist, nothing else passes */
    char **keep;               /* fields passed unchanged */
    size_t nkeep;
    char **drop;               /* fields always dropped (checked first) */
    size_t ndrop;
    char *key_file;            /* profile key: shared alert ids, default of the others */
    char **pseudonymize;       /* pseudonymize.fields */
    size_t npseudonymize;
    char *pseudonym_key_file;  /* pseudonymize.key_file */
    char **ip_fields;          /* ip.fields */
    size_t nip_fields;
    int ip_method;             /* enum conf_ip_method */
    char *ip_key_file;         /* ip.key_file */
    int64_t truncate_v4;       /* prefix bits kept by truncation */
    int64_t truncate_v6;
    char **redact_text;        /* detector names (privacy-text.h); empty: text not redacted */
    size_t nredact_text;
    char **text_fields;        /* free-text fields */
    size_t ntext_fields;
    char **time_fields;        /* fields holding RFC 3339 times */
    size_t ntime_fields;
    int64_t time_granularity_us; /* 0: times unchanged */
    char *reveal_map;          /* owner-side pseudonym map of this profile, or NULL */
};

struct conf {
    char *file; /* path of the config file */
    char *dir;  /* its directory: relative paths in the config are resolved against it */
    struct ynode **docs;
    size_t ndocs;

    struct conf_input *inputs;
    size_t ninputs;
    char **rules; /* rule files/globs, resolved */
    size_t nrules;
    struct conf_output *outputs;
    size_t noutputs;

    char *dead_letter_path; /* NULL: stderr */
    char *plugin_dir;       /* NULL: KIZUNA_PLUGIN_DIR, the build tree, or PKGLIBDIR */
    char *host_name;        /* name of this kizunad in alerts (default: gethostname) */
    char *state_dir;        /* spools and other state (default LOCALSTATEDIR/lib/kizuna) */
    char *run_user;         /* drop privileges to this user (NULL: stay) */
    char *run_group;
    char *metrics_listen;   /* NULL: default (see conf.c), "off": none */
    enum conf_tlp default_tlp; /* TLP of alerts whose rule has no tlp.* tag */

    /* limits: */
    int64_t max_event_bytes;
    int64_t max_fields;
    int64_t max_depth;
    int64_t regex_match_limit;
    int64_t regex_depth_limit;

    /* time: */
    int64_t allowed_lateness_us;
    enum conf_late_policy late_policy;
    int64_t idle_source_us;

    /* correlation state: */
    char *state_dump_path;
    int64_t max_groups_per_rule;
    int64_t max_groups_total;
    int state_backend;              /* enum conf_state_backend */
    int state_on_unavailable;       /* enum conf_state_unavailable */
    int state_redis_line;           /* where state.redis is (for --check-config), or 0 */
    char *redis_url;                /* state.redis: */
    char *redis_password_file;      /* resolved against the config's directory */
    char *redis_username;
    char *redis_prefix;
    int64_t redis_timeout_us;
    int64_t redis_batch;
    int64_t redis_max_inflight;
    int64_t redis_ttl_margin_us;
    int redis_local_absorb;

    /* log: */
    int log_level;
    int log_syslog;
    int log_json;

    /* privacy_profiles:, audit:, reveal_map: (docs/PRIVACY.md) */
    struct conf_privacy *privacy;
    size_t nprivacy;
    char *audit_path;       /* JSON lines audit of every delivery, or NULL */
    char *reveal_map;       /* default reveal map of the profiles, or NULL */
};

/*
 * Load and validate a config file. Returns 0 and a new conf in *out (caller frees with
 * conf_free), or -1 with every problem appended to errs as "FILE:LINE:COL: message". When
 * the file is valid YAML but the config is not, *out still holds what could be read (for
 * --check-config to check the rules and plugins too); the caller frees it and must not run
 * with it. *out is NULL when the file could not be read or parsed.
 */
int conf_load(const char *path, struct conf **out, struct errlist *errs);
/*
 * As conf_load(), from the YAML text[0..len) (not NUL-terminated; copied as needed) instead
 * of a file; path names the config in messages and relative paths resolve against its
 * directory. Nothing is read from disk (used by the config fuzz target).
 */
int conf_load_text(const char *path, const char *text, size_t len, struct conf **out,
                   struct errlist *errs);
void conf_free(struct conf *conf);
/* "clear", "green", "amber", "amber+strict", "red" (also "white" = clear) -> 0, or -1. */
int conf_tlp_parse(const char *s, enum conf_tlp *out);
const char *conf_tlp_name(enum conf_tlp tlp);
/* The privacy profile called name, or NULL. */
const struct conf_privacy *conf_privacy_find(const struct conf *conf, const char *name);
/* Host keys of an `outputs:` entry and of a `partners:` entry (NULL-terminated). */
extern const char *const conf_output_host_keys[];
extern const char *const conf_partner_host_keys[];
/* Print the key reference (all sections, types, defaults, help) as Markdown. */
void conf_print_reference(FILE *out);

#endif
