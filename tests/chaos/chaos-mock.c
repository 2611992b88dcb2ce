/*
 * chaos-mock: librdkafka's mock Kafka cluster with several brokers, driven by commands on
 * stdin, for the chaos suite (tests/chaos; built by make check, never installed).
 *
 *   chaos-mock [--brokers N] [--topics a,b] [--partitions P]
 *
 * Starts N brokers (default 3) on 127.0.0.1, creates the topics with P partitions and a
 * replication factor of N, prints "bootstrap=HOST:PORT,..." as the first line of stdout,
 * then reads one command per line and answers each with exactly one line ("ok ..." or
 * "error ..."):
 *
 *   down ID | up ID                    rd_kafka_mock_broker_set_down()/_up(); ID "all": every
 *                                      broker
 *   leader TOPIC PARTITION ID          rd_kafka_mock_partition_set_leader(): a leader change
 *   leader-all TOPIC ID                every partition of TOPIC led by broker ID
 *   coordinator group|transaction KEY ID   rd_kafka_mock_coordinator_set()
 *   quit                               stop (also at EOF on stdin, SIGTERM, SIGINT)
 *
 * tests/kafka-tool's mock has one broker and takes signals; a leader change needs two
 * brokers or more, and commands with answers let a test know the change has been made.
 * Exit status: 0, or 1 when the cluster could not be started, 2 on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "xmalloc.h"

static int chaos_mock_nbrokers = 3;

static int
chaos_mock_usage(void)
{
    fprintf(stderr, "usage: chaos-mock [--brokers N] [--topics a,b] [--partitions P]\n");
    return 2;
}

/* Set broker id (or every broker for "all") down or up; returns the first error. */
static rd_kafka_resp_err_t
chaos_mock_set_state(rd_kafka_mock_cluster_t *mc, const char *id, int up)
{
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    int lo = 1, hi = chaos_mock_nbrokers;

    if (strcmp(id, "all") != 0) {
        lo = hi = atoi(id);
    }
    for (int b = lo; b <= hi && e == RD_KAFKA_RESP_ERR_NO_ERROR; b++) {
        e = up ? rd_kafka_mock_broker_set_up(mc, b) : rd_kafka_mock_broker_set_down(mc, b);
    }
    return e;
}

/* Run one command line; prints its answer. */
static void
chaos_mock_command(rd_kafka_mock_cluster_t *mc, int partitions, char *line)
{
    char *argv[5] = {NULL};
    int argc = 0;
    char *save = NULL;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR__INVALID_ARG;

    for (char *w = strtok_r(line, " \t\r\n", &save); w != NULL && argc < 5;
         w = strtok_r(NULL, " \t\r\n", &save)) {
        argv[argc++] = w;
    }
    if (argc == 0) {
        return;
    }
    if ((strcmp(argv[0], "down") == 0 || strcmp(argv[0], "up") == 0) && argc == 2) {
        e = chaos_mock_set_state(mc, argv[1], argv[0][0] == 'u');
    } else if (strcmp(argv[0], "leader") == 0 && argc == 4) {
        e = rd_kafka_mock_partition_set_leader(mc, argv[1], atoi(argv[2]), atoi(argv[3]));
    } else if (strcmp(argv[0], "leader-all") == 0 && argc == 3) {
        e = RD_KAFKA_RESP_ERR_NO_ERROR;
        for (int p = 0; p < partitions && e == RD_KAFKA_RESP_ERR_NO_ERROR; p++) {
            e = rd_kafka_mock_partition_set_leader(mc, argv[1], p, atoi(argv[2]));
        }
    } else if (strcmp(argv[0], "coordinator") == 0 && argc == 4) {
        e = rd_kafka_mock_coordinator_set(mc, argv[1], argv[2], atoi(argv[3]));
    } else {
        printf("error unknown command %s\n", argv[0]);
        fflush(stdout);
        return;
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        printf("error %s: %s\n", argv[0], rd_kafka_err2str(e));
    } else {
        printf("ok %s\n", argv[0]);
    }
    fflush(stdout);
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"brokers", required_argument, NULL, 'b'},
        {"topics", required_argument, NULL, 't'},
        {"partitions", required_argument, NULL, 'p'},
        {NULL, 0, NULL, 0},
    };
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk = NULL;
    rd_kafka_mock_cluster_t *mc = NULL;
    char *topics = NULL, *save = NULL;
    int partitions = 1;
    char errstr[512];
    char *line = NULL;
    size_t cap = 0;
    int c, r = 1;

    while ((c = getopt_long(argc, argv, "b:t:p:", opts, NULL)) != -1) {
        if (c == 'b') {
            chaos_mock_nbrokers = atoi(optarg);
        } else if (c == 't') {
            free(topics);
            topics = xstrdup(optarg);
        } else if (c == 'p') {
            partitions = atoi(optarg);
        } else {
            r = chaos_mock_usage();
            goto out;
        }
    }
    if (chaos_mock_nbrokers < 1 || partitions < 1) {
        r = chaos_mock_usage();
        goto out;
    }
    /* SIGTERM/SIGINT end the process as usual; nothing here needs a clean shutdown. */
    signal(SIGPIPE, SIG_IGN);
    /* The mock cluster lives on the threads of a producer handle that never produces. */
    if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "chaos-mock: %s\n", errstr);
        goto out;
    }
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        fprintf(stderr, "chaos-mock: rd_kafka_new() failed: %s\n", errstr);
        goto out;
    }
    conf = NULL;
    mc = rd_kafka_mock_cluster_new(rk, chaos_mock_nbrokers);
    if (mc == NULL) {
        fprintf(stderr, "chaos-mock: rd_kafka_mock_cluster_new() failed\n");
        goto out;
    }
    for (char *t = topics ? strtok_r(topics, ",", &save) : NULL; t != NULL;
         t = strtok_r(NULL, ",", &save)) {
        rd_kafka_resp_err_t e =
            rd_kafka_mock_topic_create(mc, t, partitions, chaos_mock_nbrokers);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "chaos-mock: creating topic %s failed: %s\n", t,
                    rd_kafka_err2str(e));
            goto out;
        }
    }
    printf("bootstrap=%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    while (getline(&line, &cap, stdin) >= 0) {
        if (strncmp(line, "quit", 4) == 0) {
            break;
        }
        chaos_mock_command(mc, partitions, line);
    }
    r = 0;
out:
    free(line);
    free(topics);
    if (mc != NULL) {
        rd_kafka_mock_cluster_destroy(mc);
    }
    if (conf != NULL) {
        rd_kafka_conf_destroy(conf);
    }
    if (rk != NULL) {
        rd_kafka_destroy(rk);
    }
    return r;
}
