/*
 * Registry of outputs (see include/fc/output.h). A new output is one more
 * entry here.
 */
#include <string.h>

#include "fc/output.h"

extern const struct fc_output_ops fc_output_file;
extern const struct fc_output_ops fc_output_json;
extern const struct fc_output_ops fc_output_kafka;

const struct fc_output_ops *const fc_outputs[] = {
	&fc_output_kafka,
	&fc_output_file,
	&fc_output_json,
	NULL,
};

const struct fc_output_ops *fc_output_find(const char *name, size_t name_len)
{
	for (size_t i = 0; fc_outputs[i]; i++) {
		if (strlen(fc_outputs[i]->name) == name_len &&
		    strncmp(fc_outputs[i]->name, name, name_len) == 0)
			return fc_outputs[i];
	}
	return NULL;
}
