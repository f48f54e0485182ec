// SPDX-License-Identifier: GPL-2.0
/*
 * Test module for lkst's crash recovery: reproduces the seed's bug, a timer that fires after the
 * structure holding it was freed. Loading it arms a timer inside a kmalloc'ed object and frees the
 * object; with slub_debug poisoning, __run_timers then trips over the freed timer.
 */
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/timer.h>

struct lkst_victim {
	unsigned long before[8];
	struct timer_list timer;
	unsigned long after[8];
};

static void lkst_victim_fire(struct timer_list *t)
{
	struct lkst_victim *v = from_timer(v, t, timer);

	pr_info("lkst_uaf: timer fired on freed object %px\n", v);
}

static int __init lkst_uaf_init(void)
{
	/* An accounted cache is quiet, so the freed object is not reused before the timer runs. */
	struct lkst_victim *v = kmalloc(sizeof(*v), GFP_KERNEL_ACCOUNT);

	if (!v)
		return -ENOMEM;
	timer_setup(&v->timer, lkst_victim_fire, 0);
	mod_timer(&v->timer, jiffies + msecs_to_jiffies(100));
	pr_info("lkst_uaf: freeing %px while its timer %px is armed\n", v, &v->timer);
	/* A binary trace_printk: its format lives in the module, recovered from the dump. */
	trace_printk("lkst_uaf: freeing %px with timer %px armed\n", v, &v->timer);
	kfree(v); /* the bug under test */
	return 0;
}
module_init(lkst_uaf_init);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lkst test: timer armed in a freed object");
