/* nnkit events: the records of TensorBoard event files, or --repair. */
#include "cli.h"
#include <nnkit/tensorboard.h>
#include <stdio.h>

static void print_record(void *user, const nnk_tb_record_info *r)
{
    (void)user;
    printf("%17.6f %8lld  %-40s %-12s %s\n", r->wall_time, (long long)r->step,
           r->tag[0] ? r->tag : "-", r->kind, r->value);
}

int cmd_events(const options *o)
{
    if (o->n_files == 0)
        return usage_error("events", "%s", "missing EVENTFILE");
    int worst = 0;
    static const char *const what[] = {"", "truncated record (the file ends inside it)", "bad CRC",
                                       "undecodable Event", "histogram whose shape disagrees with its content"};
    for (int i = 0; i < o->n_files; i++) {
        const char *path = o->files[i];
        nnk_err err = {NNK_OK, ""};
        nnk_tb_scan scan;
        if (o->n_files > 1)
            printf("%s%s:\n", i ? "\n" : "", path);
        if (o->repair) {
            if (nnk_tb_repair(path, &scan, &err)) {
                fprintf(stderr, "nnkit: error: %s\n", err.msg);
                worst = 1;
            } else if (!scan.damaged_spans) {
                printf("'%s' is whole: %llu records, nothing to repair\n", path, (unsigned long long)scan.records);
            } else {
                printf("repaired '%s': kept %llu whole records, dropped %llu damaged span%s of %llu bytes (the first at offset %llu)\n",
                       path, (unsigned long long)scan.records, (unsigned long long)scan.damaged_spans,
                       scan.damaged_spans > 1 ? "s" : "", (unsigned long long)scan.damaged_bytes,
                       (unsigned long long)scan.first_bad);
            }
            continue;
        }
        printf("%17s %8s  %-40s %-12s %s\n", "wall_time", "step", "tag", "kind", "value");
        int r = nnk_tb_scan_file(path, print_record, NULL, &scan, &err);
        if (r < 0) {
            fprintf(stderr, "nnkit: error: %s\n", err.msg);
            worst = 1;
        } else if (r != NNK_TB_READ_OK) {
            fprintf(stderr, "nnkit: error: event file '%s': %s at offset %llu; %llu damaged bytes skipped, %llu whole records read (--repair keeps those)\n",
                    path, what[r], (unsigned long long)scan.first_bad, (unsigned long long)scan.damaged_bytes,
                    (unsigned long long)scan.records);
            worst = 1;
        }
    }
    return worst;
}

