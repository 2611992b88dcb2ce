/*
 * Rule test mode (kizunad --test-rules): decode events from a file or stdin, print each
 * event's fields and which rules match; with verbose, why each other rule does not. This is
 * the analyst's tool while writing a rule (like wazuh-logtest or pdbtool).
 */
#ifndef KZ_TEST_RULES_H
#define KZ_TEST_RULES_H

#include <stdio.h>

/*
 * Run the test mode with the rules of the config at conf_path over the events in
 * events_path (NULL or "-": stdin), decoded with format (NULL: the first input's format).
 * Output goes to out. Returns the exit status: 0 if any rule matched any event, 1 if none
 * matched, 2 on an error (bad config or rules, unreadable file).
 */
int test_rules_run(const char *conf_path, const char *events_path, const char *format,
                   int verbose, FILE *out);

#endif
