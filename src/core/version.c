/*
 * --version for every program (see version.h). The build writes
 * fc_build_info.h (meson's vcs_tag over version_info.h.in): the commit and
 * the compiled-in features; the library versions come from each library's
 * own version function at run time.
 */
#include "core/version.h"

#include <librdkafka/rdkafka.h>
#include <maxminddb.h>
#include <pcap/pcap.h>
#include <protobuf-c/protobuf-c.h>
#include <string.h>

#include "core/fc_build_info.h"

void fc_version_print(FILE *out, const char *program)
{
	/* "libpcap version 1.10.3 (with TPACKET_V3)": keep from the number on. */
	const char *pcap = pcap_lib_version();
	const char *num = strstr(pcap, "version ");

	fprintf(out, "%s %s\n", program, FC_VERSION);
	fprintf(out, "commit: %s\n", FC_BUILD_COMMIT);
	fprintf(out, "libraries: librdkafka %s, libmaxminddb %s, protobuf-c %s, libpcap %s\n",
		rd_kafka_version_str(), MMDB_lib_version(), protobuf_c_version(),
		num ? num + strlen("version ") : pcap);
	fprintf(out, "features: %s\n", FC_BUILD_FEATURES);
	fprintf(out, "licence: BSD-2-Clause\n");
}
