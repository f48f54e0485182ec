// SPDX-License-Identifier: GPL-2.0
/*
 * Test module for lkst's crash recovery: reproduces the seed's bug, a timer that fires after the
 * structure holding it was freed. Loading it arms a timer inside a kmalloc'ed object and frees the
 * object; with slub_debug poisoning, __run_timers then trips over the freed timer.
 * First it does what healthy kernel code does and a timer analysis must not flag: a timer and an
 * hrtimer whose callbacks free the object holding them (TCP's TIME_WAIT timer does this).
 */
#include <linux/completion.h>
#include <linux/hrtimer.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/timer.h>

struct lkst_healthy {
	unsigned long before[4];
	struct timer_list timer;
	struct hrtimer hrtimer;
};

static DECLARE_COMPLETION(lkst_healthy_done);

static void lkst_healthy_fire(struct timer_list *t)
{
	struct lkst_healthy *h = from_timer(h, t, timer);

	kfree(h);
	complete(&lkst_healthy_done);
}

static enum hrtimer_restart lkst_healthy_hrfire(struct hrtimer *t)
{
	struct lkst_healthy *h = container_of(t, struct lkst_healthy, hrtimer);

	kfree(h);
	complete(&lkst_healthy_done);
	return HRTIMER_NORESTART;
}

static int lkst_healthy_run(void)
{
	struct lkst_healthy *h = kzalloc(sizeof(*h), GFP_KERNEL);
	struct lkst_healthy *hr = kzalloc(sizeof(*hr), GFP_KERNEL);

	if (!h || !hr) {
		kfree(h);
		kfree(hr);
		return -ENOMEM;
	}
	timer_setup(&h->timer, lkst_healthy_fire, 0);
	mod_timer(&h->timer, jiffies + 1);
	wait_for_completion(&lkst_healthy_done);
	hrtimer_init(&hr->hrtimer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	hr->hrtimer.function = lkst_healthy_hrfire;
	hrtimer_start(&hr->hrtimer, ms_to_ktime(1), HRTIMER_MODE_REL);
	wait_for_completion(&lkst_healthy_done);
	return 0;
}

struct lkst_victim {
	unsigned long before[8];
	struct timer_list timer;
	unsigned long after[8];
};

static noinline void lkst_victim_fire(struct timer_list *t)
{
	struct lkst_victim *v = from_timer(v, t, timer);

	pr_info("lkst_uaf: timer fired on freed object %px\n", v);
}

/*
 * Struct A's life, one function for each step, kept out of line: kprobes on them show the object's
 * life by function beside the kmem and timer events (the seed's case study, test/probes).
 */
static noinline struct lkst_victim *lkst_victim_new(void)
{
	/* An accounted cache is quiet, so the freed object is not reused before the timer runs. */
	struct lkst_victim *v = kmalloc(sizeof(*v), GFP_KERNEL_ACCOUNT);

	if (v)
		timer_setup(&v->timer, lkst_victim_fire, 0);
	return v;
}

/* How long the freed object's timer waits: the storm run gives its other CPU time to wrap. */
static unsigned int delay_ms = 100;
module_param(delay_ms, uint, 0444);

static noinline void lkst_victim_arm(struct lkst_victim *v)
{
	mod_timer(&v->timer, jiffies + msecs_to_jiffies(delay_ms));
}

static noinline void lkst_victim_free(struct lkst_victim *v)
{
	kfree(v); /* the bug under test: its timer is still armed */
}

static int __init lkst_uaf_init(void)
{
	struct lkst_victim *v;

	if (lkst_healthy_run())
		return -ENOMEM;
	v = lkst_victim_new();
	if (!v)
		return -ENOMEM;
	lkst_victim_arm(v);
	pr_info("lkst_uaf: freeing %px while its timer %px is armed\n", v, &v->timer);
	/* A binary trace_printk: its format lives in the module, recovered from the dump. */
	trace_printk("lkst_uaf: freeing %px with timer %px armed\n", v, &v->timer);
	lkst_victim_free(v);
	return 0;
}
module_init(lkst_uaf_init);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lkst test: timer armed in a freed object");
