#!/bin/sh
# Chaos: kizunad starts against a backlog (it was down while 3000 records accumulated in
# three partitions), with the default allowed lateness of 5 s. librdkafka hands over each
# partition's backlog in large chunks, one partition after the other; the event clock must
# wait for every assigned partition, or the first partition's events would move it past the
# others', whose matches would then all be late and never correlated. The correlation
# alerts must equal those of a replay of the same lines from one file.
. "$top_srcdir/tests/chaos/lib-chaos.sh"

CHAOS_LATENESS=5s
chaos_mock_start 1; ok $? "mock cluster at $BROKERS"
chaos_prepare 3000 1
chaos_produce "$T/batch.1" && chaos_markers; ok $? "a backlog of 3000 records in 3 partitions"
chaos_reference
chaos_scrape_late() { grep -o 'late=[0-9]*' "$T/ref.log" | tail -1; }
is "$(chaos_scrape_late)" "late=0" "no event was late"
diag "scenario took $(elapsed) s"
done_testing
