/*
 * sched.c - learning-rate schedules as plain functions of the epoch or
 * step: step decay (torch.optim.lr_scheduler.StepLR) and cosine annealing
 * (CosineAnnealingLR's closed form).
 */
#include <math.h>

#include "mlp.h"

float mlp_lr_step(float base_lr, int epoch, int step_size, float gamma)
{
    if (step_size < 1 || epoch < 0)
        return base_lr;
    return (float)((double)base_lr * pow((double)gamma, (double)(epoch / step_size)));
}

float mlp_lr_cosine(float base_lr, float min_lr, int t, int total)
{
    const double pi = 3.14159265358979323846;
    if (total < 1)
        return min_lr;
    if (t < 0)
        t = 0;
    if (t > total)
        t = total;
    return (float)((double)min_lr
                   + ((double)base_lr - (double)min_lr)
                         * (1.0 + cos(pi * (double)t / (double)total)) / 2.0);
}
