/*
 * The metrics registry (metrics.h): families of collectors, and rendering them in the
 * Prometheus text exposition format 0.0.4. No I/O here; metrics-server.c serves the text.
 */
#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

struct metrics_collector {
    metrics_collect_cb cb;
    void *arg;
};

struct metrics_family {
    char *name;
    char *help;
    enum metrics_type type;
    struct metrics_collector *collectors;
    size_t ncollectors;
    size_t capcollectors;
};

struct metrics_registry {
    struct metrics_family **families; /* in registration order */
    size_t nfamilies;
    size_t capfamilies;
    int collecting; /* a render is running: collectors must not (un)register */
};

struct metrics_writer {
    struct buf *out;
    const struct metrics_family *family;
    struct buf scratch; /* labels built by metrics_sample_labels() */
};

static const char *const metrics_type_names[] = {
    [METRICS_COUNTER] = "counter",
    [METRICS_GAUGE] = "gauge",
    [METRICS_UNTYPED] = "untyped",
};

struct metrics_registry *
metrics_registry_new(void)
{
    return xcalloc(1, sizeof(struct metrics_registry));
}

static void
metrics_family_free(struct metrics_family *f)
{
    free(f->name);
    free(f->help);
    free(f->collectors);
    free(f);
}

void
metrics_registry_free(struct metrics_registry *reg)
{
    if (reg == NULL) {
        return;
    }
    for (size_t i = 0; i < reg->nfamilies; i++) {
        metrics_family_free(reg->families[i]);
    }
    free(reg->families);
    free(reg);
}

static int
metrics_name_valid(const char *name, int colon_ok)
{
    const char *p = name;

    if (*p == '\0' || (*p >= '0' && *p <= '9')) {
        return 0;
    }
    for (; *p != '\0'; p++) {
        int alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || *p == '_';
        if (!alnum && !(colon_ok && *p == ':')) {
            return 0;
        }
    }
    return 1;
}

static struct metrics_family *
metrics_family_find(struct metrics_registry *reg, const char *name, size_t *index)
{
    for (size_t i = 0; i < reg->nfamilies; i++) {
        if (strcmp(reg->families[i]->name, name) == 0) {
            if (index != NULL) {
                *index = i;
            }
            return reg->families[i];
        }
    }
    return NULL;
}

void
metrics_register(struct metrics_registry *reg, const char *name, enum metrics_type type,
                 const char *help, metrics_collect_cb cb, void *arg)
{
    struct metrics_family *f;

    assert(!reg->collecting);
    assert(cb != NULL);
    if (!metrics_name_valid(name, 1) || (unsigned)type > METRICS_UNTYPED) {
        assert(!"invalid metric name or type");
        log_err("metrics: refusing to register invalid metric \"%s\"", name);
        return;
    }
    f = metrics_family_find(reg, name, NULL);
    if (f != NULL && f->type != type) {
        assert(!"metric registered twice with different types");
        log_err("metrics: \"%s\" registered as %s and %s; ignoring the second", name,
                metrics_type_names[f->type], metrics_type_names[type]);
        return;
    }
    if (f == NULL) {
        f = xcalloc(1, sizeof(*f));
        f->name = xstrdup(name);
        f->help = xstrdup(help != NULL ? help : "");
        f->type = type;
        if (reg->nfamilies == reg->capfamilies) {
            reg->capfamilies = reg->capfamilies ? reg->capfamilies * 2 : 16;
            reg->families = xreallocarray(reg->families, reg->capfamilies, sizeof(*reg->families));
        }
        reg->families[reg->nfamilies++] = f;
    }
    if (f->ncollectors == f->capcollectors) {
        f->capcollectors = f->capcollectors ? f->capcollectors * 2 : 2;
        f->collectors = xreallocarray(f->collectors, f->capcollectors, sizeof(*f->collectors));
    }
    f->collectors[f->ncollectors].cb = cb;
    f->collectors[f->ncollectors].arg = arg;
    f->ncollectors++;
}

static void
metrics_u64_collect(struct metrics_writer *w, void *arg)
{
    metrics_sample_u64(w, NULL, *(const uint64_t *)arg);
}

void
metrics_register_u64(struct metrics_registry *reg, const char *name, enum metrics_type type,
                     const char *help, const uint64_t *value)
{
    /* The const is restored in metrics_u64_collect(); the registry never writes through it. */
    metrics_register(reg, name, type, help, metrics_u64_collect, (void *)(uintptr_t)value);
}

static void
metrics_family_remove(struct metrics_registry *reg, size_t index)
{
    metrics_family_free(reg->families[index]);
    memmove(&reg->families[index], &reg->families[index + 1],
            (reg->nfamilies - index - 1) * sizeof(*reg->families));
    reg->nfamilies--;
}

int
metrics_unregister_arg(struct metrics_registry *reg, const void *arg)
{
    int removed = 0;

    assert(!reg->collecting);
    for (size_t i = 0; i < reg->nfamilies;) {
        struct metrics_family *f = reg->families[i];
        size_t kept = 0;

        for (size_t j = 0; j < f->ncollectors; j++) {
            if (f->collectors[j].arg == arg) {
                removed++;
            } else {
                f->collectors[kept++] = f->collectors[j];
            }
        }
        f->ncollectors = kept;
        if (kept == 0) {
            metrics_family_remove(reg, i);
        } else {
            i++;
        }
    }
    return removed;
}

int
metrics_unregister(struct metrics_registry *reg, const char *name)
{
    size_t index;

    assert(!reg->collecting);
    if (metrics_family_find(reg, name, &index) == NULL) {
        return -1;
    }
    metrics_family_remove(reg, index);
    return 0;
}

/* HELP text escaping: backslash and newline (quotes stay as they are). */
static void
metrics_help_escape(struct buf *out, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\') {
            buf_puts(out, "\\\\");
        } else if (*s == '\n') {
            buf_puts(out, "\\n");
        } else {
            buf_putc(out, *s);
        }
    }
}

void
metrics_label_escape(struct buf *out, const char *value)
{
    for (const char *s = value; *s != '\0'; s++) {
        if (*s == '\\') {
            buf_puts(out, "\\\\");
        } else if (*s == '"') {
            buf_puts(out, "\\\"");
        } else if (*s == '\n') {
            buf_puts(out, "\\n");
        } else {
            buf_putc(out, *s);
        }
    }
}

void
metrics_render(struct metrics_registry *reg, struct buf *out)
{
    struct metrics_writer w = {.out = out};

    reg->collecting = 1;
    for (size_t i = 0; i < reg->nfamilies; i++) {
        struct metrics_family *f = reg->families[i];

        buf_printf(out, "# HELP %s ", f->name);
        metrics_help_escape(out, f->help);
        buf_printf(out, "\n# TYPE %s %s\n", f->name, metrics_type_names[f->type]);
        w.family = f;
        for (size_t j = 0; j < f->ncollectors; j++) {
            f->collectors[j].cb(&w, f->collectors[j].arg);
        }
    }
    reg->collecting = 0;
    buf_free(&w.scratch);
}

static void
metrics_sample_start(struct metrics_writer *w, const char *labels)
{
    buf_puts(w->out, w->family->name);
    if (labels != NULL && labels[0] != '\0') {
        buf_putc(w->out, '{');
        buf_puts(w->out, labels);
        buf_putc(w->out, '}');
    }
    buf_putc(w->out, ' ');
}

void
metrics_sample(struct metrics_writer *w, const char *labels, double value)
{
    char num[64];

    metrics_sample_start(w, labels);
    if (isnan(value)) {
        buf_puts(w->out, "NaN\n");
        return;
    }
    if (isinf(value)) {
        buf_puts(w->out, value > 0 ? "+Inf\n" : "-Inf\n");
        return;
    }
    /* Shortest of %.15g / %.17g that reads back to the same double. */
    snprintf(num, sizeof(num), "%.15g", value);
    if (strtod(num, NULL) != value) {
        snprintf(num, sizeof(num), "%.17g", value);
    }
    buf_puts(w->out, num);
    buf_putc(w->out, '\n');
}

void
metrics_sample_u64(struct metrics_writer *w, const char *labels, uint64_t value)
{
    metrics_sample_start(w, labels);
    buf_printf(w->out, "%llu\n", (unsigned long long)value);
}

void
metrics_sample_labels(struct metrics_writer *w, double value, ...)
{
    va_list ap;
    const char *name;
    int first = 1;

    buf_reset(&w->scratch);
    va_start(ap, value);
    while ((name = va_arg(ap, const char *)) != NULL) {
        const char *lv = va_arg(ap, const char *);

        assert(metrics_name_valid(name, 0));
        buf_printf(&w->scratch, "%s%s=\"", first ? "" : ",", name);
        metrics_label_escape(&w->scratch, lv != NULL ? lv : "");
        buf_putc(&w->scratch, '"');
        first = 0;
    }
    va_end(ap);
    metrics_sample(w, buf_cstr(&w->scratch), value);
}
