/* Internal to libnnkit-tensorboard. */
#ifndef NNKIT_TB_INTERNAL_H
#define NNKIT_TB_INTERNAL_H

#include "event.pb-c.h"
#include <nnkit/nnkit.h>
#include <nnkit/tensorboard.h>

#define tb_err nnk_err_set
double tb_now(void);
/* Packs and frames one event, appending it to the writer's buffer. */
int tb_write_event(nnk_tb_writer *w, const Tensorboard__Event *ev, nnk_err *err);
/* Writes one Summary.Value as an event at (step, wall_time). */
int tb_write_value(nnk_tb_writer *w, Tensorboard__Summary__Value *v, int64_t step,
                   double wall_time, nnk_err *err);
/* Writes Summary.Value{tag, tensor, metadata} as an event. */
struct Tensorboard__TensorProto;
int tb_write_tensor(nnk_tb_writer *w, const char *tag, struct Tensorboard__TensorProto *tensor,
                    Tensorboard__SummaryMetadata *md, int64_t step, double wall_time, nnk_err *err);
#define tb_write_file_atomic nnk_write_file_atomic

/* A rank-2 tensor (rows x cols, dtype) whose tensor_content is bytes of
 * data, in one struct so its shape's parts live as long as it does. */
#include "tensor.pb-c.h"
typedef struct tb_matrix {
    Tensorboard__TensorShapeProto__Dim d0, d1, *dims[2];
    Tensorboard__TensorShapeProto shape;
    Tensorboard__TensorProto t;
} tb_matrix;
void tb_matrix_init(tb_matrix *m, int64_t rows, int64_t cols, int dtype, const void *data, size_t bytes);

#define DT_FLOAT 1
#define DT_DOUBLE 2
#define DT_STRING 7
#endif
