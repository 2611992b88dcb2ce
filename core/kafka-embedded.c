/*
 * Embedded Kafka: librdkafka's mock cluster hosted by a dummy producer handle. See
 * kafka-embedded.h and docs/KAFKA.md ("Embedded mode").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "kafka-embedded.h"
#include "log.h"
#include "xmalloc.h"

struct kafka_embedded {
    rd_kafka_t *rk; /* dummy producer: the mock cluster lives on its threads */
    rd_kafka_mock_cluster_t *mc;
    char *bootstrap;
};

/*
 * Logs of the hosting handle (librdkafka threads). The dummy producer has no brokers of its
 * own, so its notices are noise: only errors are kept at their level.
 */
static void
kafka_embedded_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    int lvl = level <= LOG_ERR ? LOG_LVL_ERR : LOG_LVL_DEBUG;

    if (log_level >= lvl) {
        log_write(lvl, "kafka:embedded", "librdkafka %s: %s", fac, buf);
    }
}

int
kafka_embedded_start(const char *const *topics, size_t ntopics, int partitions,
                     struct kafka_embedded **out, char *err, size_t errlen)
{
    struct kafka_embedded *ke = NULL;
    rd_kafka_conf_t *conf = NULL;
    char errstr[512];
    int r = -1;

    *out = NULL;
    ke = xcalloc(1, sizeof(*ke));
    conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, kafka_embedded_log_cb);
    if (rd_kafka_conf_set(conf, "client.id", "kizunad-embedded", errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "embedded Kafka: %s", errstr);
        goto out;
    }
    ke->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (ke->rk == NULL) {
        snprintf(err, errlen, "embedded Kafka: rd_kafka_new() failed: %s", errstr);
        goto out;
    }
    conf = NULL; /* owned by ke->rk now */
    ke->mc = rd_kafka_mock_cluster_new(ke->rk, 1);
    if (ke->mc == NULL) {
        snprintf(err, errlen, "embedded Kafka: rd_kafka_mock_cluster_new() failed");
        goto out;
    }
    ke->bootstrap = xstrdup(rd_kafka_mock_cluster_bootstraps(ke->mc));
    if (kafka_embedded_add_topics(ke, topics, ntopics, partitions, err, errlen) != 0) {
        goto out;
    }
    *out = ke;
    ke = NULL;
    r = 0;
out:
    if (conf != NULL) {
        rd_kafka_conf_destroy(conf);
    }
    kafka_embedded_stop(ke);
    return r;
}

int
kafka_embedded_add_topics(struct kafka_embedded *ke, const char *const *topics, size_t ntopics,
                          int partitions, char *err, size_t errlen)
{
    rd_kafka_resp_err_t e;

    if (partitions <= 0) {
        partitions = 1;
    }
    for (size_t i = 0; i < ntopics; i++) {
        if (topics[i][0] == '^') {
            continue; /* a subscription pattern, not a topic */
        }
        e = rd_kafka_mock_topic_create(ke->mc, topics[i], partitions, 1);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            snprintf(err, errlen, "embedded Kafka: creating topic \"%s\" failed: %s", topics[i],
                     rd_kafka_err2str(e));
            return -1;
        }
    }
    return 0;
}

const char *
kafka_embedded_bootstrap(const struct kafka_embedded *ke)
{
    return ke->bootstrap;
}

rd_kafka_mock_cluster_t *
kafka_embedded_cluster(struct kafka_embedded *ke)
{
    return ke->mc;
}

void
kafka_embedded_stop(struct kafka_embedded *ke)
{
    if (ke == NULL) {
        return;
    }
    if (ke->mc != NULL) {
        rd_kafka_mock_cluster_destroy(ke->mc);
    }
    if (ke->rk != NULL) {
        rd_kafka_destroy(ke->rk);
    }
    free(ke->bootstrap);
    free(ke);
}
