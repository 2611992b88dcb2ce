/*
 * The Kafka input (see kafka.h). Stub bodies while the implementation lands; the interface
 * in kafka.h is final.
 */
#include <stdio.h>

#include "kafka.h"

int
kafka_input_new(uv_loop_t *loop, const struct kafka_input_conf *conf, kafka_record_cb cb,
                void *arg, struct kafka_input **out, char *err, size_t errlen)
{
    *out = NULL;
    snprintf(err, errlen, "Kafka input: not implemented yet");
    return -1;
}

int
kafka_input_start(struct kafka_input *ki)
{
    return -1;
}

void
kafka_input_resume(struct kafka_input *ki)
{
}

void
kafka_input_ack(struct kafka_input *ki, const struct event_source *src)
{
}

void
kafka_input_stop(struct kafka_input *ki, void (*done)(void *arg), void *arg)
{
    done(arg);
}

void
kafka_input_free(struct kafka_input *ki)
{
}

const char *
kafka_input_brokers(const struct kafka_input *ki)
{
    return "";
}

void
kafka_input_get_stats(struct kafka_input *ki, struct kafka_input_stats *st)
{
    *st = (struct kafka_input_stats){0};
}
