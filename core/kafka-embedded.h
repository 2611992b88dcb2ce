/*
 * Embedded Kafka: librdkafka's mock cluster (one broker on 127.0.0.1, random port), in
 * memory only, for demos and tests. Any Kafka client, in this process or another, reaches it
 * through kafka_embedded_bootstrap(). It keeps records (about 5 MiB per partition in
 * librdkafka 2.0.2) and committed group offsets for as long as it runs.
 */
#ifndef KZ_KAFKA_EMBEDDED_H
#define KZ_KAFKA_EMBEDDED_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

struct kafka_embedded;

/*
 * Start a mock cluster and create the given topics with `partitions` partitions each
 * (<= 0: 1). Topics not created here are created on first use with librdkafka's default
 * of 4 partitions. Returns 0 and *out (owned by the caller, released with
 * kafka_embedded_stop()), or -1 with a message in err. Any thread.
 */
int kafka_embedded_start(const char *const *topics, size_t ntopics, int partitions,
                         struct kafka_embedded **out, char *err, size_t errlen);

/*
 * Create more topics (already existing ones are left as they are). Returns 0 or -1 with a
 * message in err.
 */
int kafka_embedded_add_topics(struct kafka_embedded *ke, const char *const *topics, size_t ntopics,
                              int partitions, char *err, size_t errlen);

/* "127.0.0.1:PORT"; owned by ke, valid until kafka_embedded_stop(). */
const char *kafka_embedded_bootstrap(const struct kafka_embedded *ke);

/* The mock cluster itself, for tests (rd_kafka_mock_broker_set_down(), ...); broker id 1. */
rd_kafka_mock_cluster_t *kafka_embedded_cluster(struct kafka_embedded *ke);

/* Stop the cluster; its data is gone. Accepts NULL. */
void kafka_embedded_stop(struct kafka_embedded *ke);

#endif
