/*
 * kafka-tool: a small Kafka helper for the integration tests (built by make check, never
 * installed). Three subcommands, each a plain librdkafka client:
 *
 *   kafka-tool mock [--topics a,b] [--partitions N]
 *       Start librdkafka's mock cluster (kafka-embedded.c) and print "bootstrap=HOST:PORT" as
 *       the first line of stdout. Runs until SIGTERM/SIGINT, or until stdin reaches EOF when
 *       stdin is a pipe, socket or terminal (a background job's /dev/null is not watched).
 *       SIGUSR1 takes the broker down, SIGUSR2 brings it back (outage tests).
 *   kafka-tool produce -b BROKERS -t TOPIC [--key-lines] [--partition N] [--timeout S]
 *                      [-X key=value]... < FILE
 *       One record per non-empty line of stdin. Default: round-robin over the topic's
 *       partitions; --key-lines: "KEY<TAB>VALUE" lines, partitioned by key; --partition N:
 *       all to N. Waits for every delivery; exits 0 only if all were delivered.
 *   kafka-tool consume -b BROKERS -t TOPIC -g GROUP [--count N] [--timeout S] [--meta]
 *                      [-X key=value]...
 *       Join GROUP (from the earliest offset when it has no commit), print each value on a
 *       line (--meta: "PARTITION<TAB>OFFSET<TAB>VALUE"), commit and leave. Exits 0 when
 *       --count records were printed before the timeout (without --count: at the timeout).
 *
 * Exit status: 0 success, 1 failure, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "kafka-embedded.h"
#include "log.h"
#include "xmalloc.h"

static volatile sig_atomic_t got_stop;
static volatile sig_atomic_t got_down;
static volatile sig_atomic_t got_up;
static int delivered;
static int failed;

static void
tool_signal(int sig)
{
    if (sig == SIGUSR1) {
        got_down = 1;
    } else if (sig == SIGUSR2) {
        got_up = 1;
    } else {
        got_stop = 1;
    }
}

static int
tool_usage(void)
{
    fprintf(stderr,
            "usage: kafka-tool mock [--topics a,b] [--partitions N]\n"
            "       kafka-tool produce -b BROKERS -t TOPIC [--key-lines] [--partition N]\n"
            "                          [--timeout S] [-X key=value]... < FILE\n"
            "       kafka-tool consume -b BROKERS -t TOPIC -g GROUP [--count N] [--timeout S]\n"
            "                          [--meta] [-X key=value]...\n");
    return 2;
}

static double
tool_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Set key=value on conf; returns 0, or -1 with a message on stderr. */
static int
tool_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value)
{
    char errstr[512];

    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "kafka-tool: %s\n", errstr);
        return -1;
    }
    return 0;
}

/* Apply "key=value" (-X). */
static int
tool_conf_kv(rd_kafka_conf_t *conf, const char *kv)
{
    char *copy = xstrdup(kv);
    char *eq = strchr(copy, '=');
    int r = -1;

    if (eq == NULL) {
        fprintf(stderr, "kafka-tool: -X wants key=value, not \"%s\"\n", kv);
        goto out;
    }
    *eq = '\0';
    r = tool_conf_set(conf, copy, eq + 1);
out:
    free(copy);
    return r;
}

static int
tool_mock(int argc, char **argv)
{
    static const struct option opts[] = {
        {"topics", required_argument, NULL, 't'},
        {"partitions", required_argument, NULL, 'p'},
        {NULL, 0, NULL, 0},
    };
    struct kafka_embedded *ke = NULL;
    char **topics = NULL;
    size_t ntopics = 0;
    int partitions = 1;
    char err[512];
    struct sigaction sa;
    sigset_t block, orig;
    struct stat st;
    struct pollfd pfd = {.fd = 0, .events = POLLIN};
    int watch_stdin;
    int c, r = 1;

    while ((c = getopt_long(argc, argv, "t:p:", opts, NULL)) != -1) {
        if (c == 't') {
            char *list = xstrdup(optarg), *save = NULL;
            for (char *t = strtok_r(list, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
                topics = xreallocarray(topics, ntopics + 1, sizeof(*topics));
                topics[ntopics++] = xstrdup(t);
            }
            free(list);
        } else if (c == 'p') {
            partitions = atoi(optarg);
        } else {
            r = tool_usage();
            goto out;
        }
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = tool_signal; /* no SA_RESTART: ppoll() returns on a signal */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGUSR2);
    /* blocked except inside ppoll(), so that no signal slips in between check and wait;
       librdkafka's threads, created below, inherit the mask and never take them */
    sigprocmask(SIG_BLOCK, &block, &orig);

    if (kafka_embedded_start((const char *const *)topics, ntopics, partitions, &ke, err,
                             sizeof(err)) != 0) {
        fprintf(stderr, "kafka-tool: %s\n", err);
        goto out;
    }
    printf("bootstrap=%s\n", kafka_embedded_bootstrap(ke));
    fflush(stdout);
    watch_stdin = fstat(0, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || isatty(0));
    while (!got_stop) {
        int n = ppoll(watch_stdin ? &pfd : NULL, watch_stdin ? 1 : 0, NULL, &orig);
        if (got_down) {
            got_down = 0;
            rd_kafka_mock_broker_set_down(kafka_embedded_cluster(ke), 1);
            fprintf(stderr, "kafka-tool: broker down\n");
        }
        if (got_up) {
            got_up = 0;
            rd_kafka_mock_broker_set_up(kafka_embedded_cluster(ke), 1);
            fprintf(stderr, "kafka-tool: broker up\n");
        }
        if (n > 0) {
            char buf[512];
            ssize_t k = read(0, buf, sizeof(buf));
            if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN)) {
                break; /* stdin closed */
            }
        } else if (n < 0 && errno != EINTR) {
            fprintf(stderr, "kafka-tool: ppoll() failed: %s\n", strerror(errno));
            break;
        }
    }
    r = 0;
out:
    kafka_embedded_stop(ke);
    for (size_t i = 0; i < ntopics; i++) {
        free(topics[i]);
    }
    free(topics);
    return r;
}

static void
tool_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        failed++;
        fprintf(stderr, "kafka-tool: delivery failed: %s\n", rd_kafka_err2str(m->err));
    } else {
        delivered++;
    }
}

/* Partitions of topic, or 0 when the metadata cannot tell. */
static int
tool_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    int n = 0;

    if (rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        n = md->topics[0].partition_cnt;
    }
    if (md != NULL) {
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    return n;
}

static int
tool_produce(int argc, char **argv)
{
    static const struct option opts[] = {
        {"brokers", required_argument, NULL, 'b'}, {"topic", required_argument, NULL, 't'},
        {"key-lines", no_argument, NULL, 'k'},     {"partition", required_argument, NULL, 'p'},
        {"timeout", required_argument, NULL, 'T'}, {NULL, 0, NULL, 0},
    };
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk = NULL;
    const char *brokers = NULL, *topic = NULL;
    int key_lines = 0, fixed = -1, timeout_s = 30, nparts = 0, produced = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    char errstr[512];
    int c, r = 1;

    while ((c = getopt_long(argc, argv, "b:t:kp:T:X:", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            brokers = optarg;
            break;
        case 't':
            topic = optarg;
            break;
        case 'k':
            key_lines = 1;
            break;
        case 'p':
            fixed = atoi(optarg);
            break;
        case 'T':
            timeout_s = atoi(optarg);
            break;
        case 'X':
            if (tool_conf_kv(conf, optarg) != 0) {
                goto out;
            }
            break;
        default:
            r = tool_usage();
            goto out;
        }
    }
    if (brokers == NULL || topic == NULL) {
        r = tool_usage();
        goto out;
    }
    if (tool_conf_set(conf, "bootstrap.servers", brokers) != 0 ||
        tool_conf_set(conf, "enable.idempotence", "true") != 0 ||
        tool_conf_set(conf, "linger.ms", "5") != 0) {
        goto out;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, tool_dr_cb);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        fprintf(stderr, "kafka-tool: rd_kafka_new() failed: %s\n", errstr);
        goto out;
    }
    conf = NULL;
    if (fixed < 0 && !key_lines) {
        nparts = tool_partitions(rk, topic, timeout_s * 1000);
    }
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        const char *key = NULL, *value = line;
        size_t klen = 0, vlen;
        int32_t part = RD_KAFKA_PARTITION_UA;
        rd_kafka_resp_err_t e;

        if (len > 0 && line[len - 1] == '\n') {
            line[--len] = '\0';
        }
        if (len == 0) {
            continue;
        }
        vlen = (size_t)len;
        if (key_lines) {
            char *tab = strchr(line, '\t');
            if (tab != NULL) {
                key = line;
                klen = (size_t)(tab - line);
                value = tab + 1;
                vlen = (size_t)len - klen - 1;
            }
        } else if (fixed >= 0) {
            part = fixed;
        } else if (nparts > 0) {
            part = produced % nparts;
        }
        for (;;) {
            e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(part),
                                  RD_KAFKA_V_KEY((void *)key, klen),
                                  RD_KAFKA_V_VALUE((void *)value, vlen),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                break;
            }
            rd_kafka_poll(rk, 50);
        }
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "kafka-tool: produce failed: %s\n", rd_kafka_err2str(e));
            goto out;
        }
        produced++;
        rd_kafka_poll(rk, 0);
    }
    if (rd_kafka_flush(rk, timeout_s * 1000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "kafka-tool: %d record(s) not delivered within %d s\n",
                rd_kafka_outq_len(rk), timeout_s);
        goto out;
    }
    fprintf(stderr, "kafka-tool: produced %d, delivered %d, failed %d\n", produced, delivered,
            failed);
    r = delivered == produced && failed == 0 ? 0 : 1;
out:
    free(line);
    if (conf != NULL) {
        rd_kafka_conf_destroy(conf);
    }
    if (rk != NULL) {
        rd_kafka_destroy(rk);
    }
    return r;
}

static int
tool_consume(int argc, char **argv)
{
    static const struct option opts[] = {
        {"brokers", required_argument, NULL, 'b'},
        {"topic", required_argument, NULL, 't'},
        {"group", required_argument, NULL, 'g'},
        {"count", required_argument, NULL, 'n'},
        {"timeout", required_argument, NULL, 'T'},
        {"meta", no_argument, NULL, 'm'},
        {NULL, 0, NULL, 0},
    };
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_partition_list_t *sub = NULL;
    const char *brokers = NULL, *topic = NULL, *group = NULL;
    long count = -1, got = 0;
    int timeout_s = 30, meta = 0;
    double deadline;
    char errstr[512];
    int c, r = 1;

    /* defaults first, so that -X overrides them */
    if (tool_conf_set(conf, "auto.offset.reset", "earliest") != 0 ||
        tool_conf_set(conf, "fetch.wait.max.ms", "10") != 0) {
        goto out;
    }
    while ((c = getopt_long(argc, argv, "b:t:g:n:T:mX:", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            brokers = optarg;
            break;
        case 't':
            topic = optarg;
            break;
        case 'g':
            group = optarg;
            break;
        case 'n':
            count = atol(optarg);
            break;
        case 'T':
            timeout_s = atoi(optarg);
            break;
        case 'm':
            meta = 1;
            break;
        case 'X':
            if (tool_conf_kv(conf, optarg) != 0) {
                goto out;
            }
            break;
        default:
            r = tool_usage();
            goto out;
        }
    }
    if (brokers == NULL || topic == NULL || group == NULL) {
        r = tool_usage();
        goto out;
    }
    if (tool_conf_set(conf, "bootstrap.servers", brokers) != 0 ||
        tool_conf_set(conf, "group.id", group) != 0) {
        goto out;
    }
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        fprintf(stderr, "kafka-tool: rd_kafka_new() failed: %s\n", errstr);
        goto out;
    }
    conf = NULL;
    rd_kafka_poll_set_consumer(rk);
    sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
    if (rd_kafka_subscribe(rk, sub) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "kafka-tool: subscribe failed\n");
        goto out;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    deadline = tool_now() + timeout_s;
    while ((count < 0 || got < count) && tool_now() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m == NULL) {
            continue;
        }
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                fprintf(stderr, "kafka-tool: %s\n", rd_kafka_message_errstr(m));
            }
        } else {
            if (meta) {
                printf("%" PRId32 "\t%" PRId64 "\t", m->partition, m->offset);
            }
            fwrite(m->payload, 1, m->len, stdout);
            putchar('\n');
            got++;
        }
        rd_kafka_message_destroy(m);
    }
    fflush(stdout);
    rd_kafka_consumer_close(rk); /* commits the offsets of what was printed */
    if (count >= 0 && got < count) {
        fprintf(stderr, "kafka-tool: got %ld of %ld record(s) within %d s\n", got, count,
                timeout_s);
        goto out;
    }
    r = 0;
out:
    if (sub != NULL) {
        rd_kafka_topic_partition_list_destroy(sub);
    }
    if (conf != NULL) {
        rd_kafka_conf_destroy(conf);
    }
    if (rk != NULL) {
        rd_kafka_destroy(rk);
    }
    return r;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        return tool_usage();
    }
    log_set_level(getenv("KZ_TEST_DEBUG") != NULL ? LOG_LVL_DEBUG : LOG_LVL_WARNING);
    if (strcmp(argv[1], "mock") == 0) {
        return tool_mock(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "produce") == 0) {
        return tool_produce(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "consume") == 0) {
        return tool_consume(argc - 1, argv + 1);
    }
    return tool_usage();
}
