/*
 * File and stdin inputs: read with uv_fs_read (libuv's thread pool, so the loop never
 * blocks), split into lines, hand each line to the pipeline. A file with follow: false, and
 * stdin, are finite: at end of input the done callback runs. A followed file is polled for
 * growth and reopened when it is rotated (inode changed) or truncated.
 */
#ifndef KZ_INPUT_FILE_H
#define KZ_INPUT_FILE_H

#include <stdint.h>
#include <uv.h>

#include "conf.h"
#include "pipeline.h"

struct file_input;

/* Called once on the loop when the input has finished (end of a finite input, or stopped). */
typedef void (*file_input_done_cb)(void *arg, struct file_input *fi);

/*
 * Create an input for ci (a file or stdin input; borrowed until free) as input number
 * index. Returns 0 and *out, or -1 with a message in err (e.g. the file cannot be opened).
 */
int file_input_new(uv_loop_t *loop, const struct conf_input *ci, uint32_t index,
                   struct pipeline *p, int64_t max_line, file_input_done_cb done, void *arg,
                   struct file_input **out, char *err, size_t errlen);
void file_input_start(struct file_input *fi);
/*
 * The input pauses by itself when pipeline_ready() says the pipeline cannot take events
 * (a partner's spool is full); call this when it can again.
 */
void file_input_resume(struct file_input *fi);
/* Stop reading: lines already read are processed; then done runs. */
void file_input_stop(struct file_input *fi);
/* Release everything; only after done has run. */
void file_input_free(struct file_input *fi);
/* Lines handed to the pipeline. */
uint64_t file_input_lines(const struct file_input *fi);

#endif
