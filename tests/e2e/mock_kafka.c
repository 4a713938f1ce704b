/*
 * A Kafka broker for tests that can be taken down and brought back:
 * librdkafka's mock cluster (rdkafka_mock.h) with one broker, in a process
 * of its own so that the collector talks to it over loopback like to a
 * real broker. Prints "bootstraps=HOST:PORT" on stdout, then reads
 * commands on stdin, one per line, and answers each with "ok CMD":
 *   down   rd_kafka_mock_broker_set_down: connections are closed and new
 *          ones refused (a broker outage as the producer sees it)
 *   up     rd_kafka_mock_broker_set_up
 * It exits at the end of stdin. The records stay in the mock's memory
 * (the newest ~5 MB per partition), readable with flowcat or kcat.
 *
 * usage: mock_kafka PARTITIONS TOPIC...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

int main(int argc, char **argv)
{
	char errstr[512], line[64];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *mc;
	int parts;

	if (argc < 3) {
		fprintf(stderr, "usage: mock_kafka PARTITIONS TOPIC...\n");
		return 2;
	}
	parts = atoi(argv[1]);
	conf = rd_kafka_conf_new();
	/* This handle only hosts the cluster: no warning that it has no
	 * bootstrap servers of its own. */
	(void)rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "mock_kafka: %s\n", errstr);
		return 1;
	}
	mc = rd_kafka_mock_cluster_new(rk, 1);
	if (!mc) {
		fprintf(stderr, "mock_kafka: cannot start the mock cluster\n");
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		if (rd_kafka_mock_topic_create(mc, argv[i], parts, 1) != 0) {
			fprintf(stderr, "mock_kafka: cannot create topic %s\n", argv[i]);
			return 1;
		}
	}
	printf("bootstraps=%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strcmp(line, "down") == 0)
			rd_kafka_mock_broker_set_down(mc, 1);
		else if (strcmp(line, "up") == 0)
			rd_kafka_mock_broker_set_up(mc, 1);
		else
			continue;
		printf("ok %s\n", line);
		fflush(stdout);
	}
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
