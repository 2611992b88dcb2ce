/*
 * Tests of the daemon's log (core/log.c) on stderr, redirected to a file: the level check,
 * the plain line format, control characters escaped (no forged lines), JSON lines that stay
 * valid for any bytes, errno preserved, and the journald form ("<N>" prefix, no timestamp)
 * when $JOURNAL_STREAM names the file stderr is connected to. The journal case runs in a
 * forked child, because the log checks $JOURNAL_STREAM once per process.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"

static char path[] = "/tmp/kz-log-XXXXXX";
static int saved_stderr = -1;

/* Point stderr at the (truncated) temp file. */
static void
capture_start(void)
{
    int fd = open(path, O_WRONLY | O_TRUNC);

    if (saved_stderr < 0) {
        saved_stderr = dup(STDERR_FILENO);
    }
    dup2(fd, STDERR_FILENO);
    close(fd);
}

/* Restore stderr and return what was written (static buffer). */
static const char *
capture_end(void)
{
    static char text[8192];
    FILE *f;
    size_t n;

    dup2(saved_stderr, STDERR_FILENO);
    f = fopen(path, "r");
    n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
    text[n] = '\0';
    if (f != NULL) {
        fclose(f);
    }
    return text;
}

static void
test_journal(void)
{
    struct stat st;
    char env[64];
    pid_t pid;
    int status = -1;
    const char *text;

    stat(path, &st);
    snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        setenv("JOURNAL_STREAM", env, 1);
        capture_start();
        log_set_level(LOG_LVL_DEBUG);
        log_err("disk %s", "full");
        log_write(LOG_LVL_INFO, "out_json:soc", "sent %d", 3);
        log_debug("line\nbreak");
        _exit(0);
    }
    waitpid(pid, &status, 0);
    text = capture_end();
    is_str(text, "<3>disk full\n<6>[out_json:soc] sent 3\n<7>line\\x0abreak\n",
           "journal: <N> severity prefix, no timestamp, one entry per line");
}

static void
test_journal_other_stream(void)
{
    pid_t pid;
    int status = -1;
    const char *text;

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        setenv("JOURNAL_STREAM", "1:2", 1); /* some other stream: not ours */
        capture_start();
        log_err("x");
        _exit(0);
    }
    waitpid(pid, &status, 0);
    text = capture_end();
    ok(text[0] != '<' && strstr(text, " kizunad err: x\n") != NULL,
       "JOURNAL_STREAM naming another file: plain lines (%s)", text);
}

int
main(void)
{
    const char *text;
    int fd = mkstemp(path);

    if (fd < 0) {
        tap_diag("mkstemp: %s", strerror(errno));
        return 1;
    }
    close(fd);
    unsetenv("JOURNAL_STREAM");
    test_journal();
    test_journal_other_stream();

    capture_start();
    log_set_level(LOG_LVL_WARNING);
    log_info("hidden %s", "info");
    log_debug("hidden debug");
    log_warn("shown %d", 1);
    text = capture_end();
    ok(strstr(text, "hidden") == NULL, "below the level: nothing written");
    ok(strlen(text) == 50 && text[4] == '-' && text[10] == 'T' && text[23] == 'Z' &&
           strcmp(text + 24, " kizunad warning: shown 1\n") == 0,
       "plain line: RFC 3339 UTC time, program, level, message (%s)", text);

    capture_start();
    log_write(LOG_LVL_ERR, "rule:ssh", "bad event \"%s\"", "a\nb\r2026 kizunad err: forged");
    text = capture_end();
    ok(strstr(text, "err: [rule:ssh] bad event \"a\\x0ab\\x0d2026 kizunad err: forged\"\n") !=
               NULL &&
           strchr(text, '\n') == text + strlen(text) - 1,
       "control characters escaped: one line, nothing forged (%s)", text);

    log_set_target(LOG_TARGET_STDERR, 1);
    capture_start();
    errno = ENOENT;
    log_write(LOG_LVL_ERR, "in\"put", "raw \xff\xfe \"q\" \\ %s", "tab\there");
    is_int(errno, ENOENT, "errno preserved across a log call");
    text = capture_end();
    ok(strncmp(text, "{\"time\":\"", 9) == 0 &&
           strstr(text, "\",\"level\":\"err\",\"tag\":\"in\\\"put\",\"msg\":\"raw ") != NULL &&
           strstr(text, " \\\"q\\\" \\\\ tab\\there\"}\n") != NULL,
       "JSON line: fields and escapes (%s)", text);
    ok(strchr(text, '\xff') == NULL && strchr(text, '\xfe') == NULL,
       "JSON line: invalid UTF-8 replaced, the line stays valid JSON");
    log_set_target(LOG_TARGET_STDERR, 0);

    is_int(log_level_parse("warning"), LOG_LVL_WARNING, "level name parsed");
    is_int(log_level_parse("warn"), LOG_LVL_WARNING, "warn alias");
    is_int(log_level_parse("loud"), -1, "unknown level");
    unlink(path);
    return tap_done();
}
