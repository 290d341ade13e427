/* Node read-ahead: queued pointers, one reading thread, and the hand-over of what it read. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "prefetch.h"
#include "cache.h"
#include "node_read.h"

/* Nodes read ahead of a walk; slots for two walks side by side and some left behind. */
#define AHEAD		4
#define NR_SLOTS	12

enum slot_state {
	SLOT_FREE,
	SLOT_QUEUED,		/* waiting for the thread */
	SLOT_READING,		/* the thread has it: only the thread touches it */
	SLOT_READ,		/* node is the node, or NULL if the walker must read it */
};

struct slot {
	enum slot_state state;
	enum btree_id btree_id;
	unsigned level;
	u64 order;		/* queued: the thread takes the oldest; reuse takes the oldest read */
	struct btree *node;
	union {
		struct bkey_i key;
		u8 buf[sizeof(((struct btree *)NULL)->_key_buf)];
	} ptr;
};

struct btree_prefetch {
	pthread_mutex_t lock;
	pthread_cond_t queued;		/* to the thread: a slot was queued, or stop */
	pthread_cond_t read;		/* to the walker: a read finished */
	pthread_t thread;
	bool running;
	bool stopping;
	u64 next_order;
	struct slot slots[NR_SLOTS];
};

static bool slot_is(const struct slot *s, const struct bkey_i *ptr, enum btree_id id,
		    unsigned level)
{
	return s->state != SLOT_FREE && s->btree_id == id && s->level == level &&
		s->ptr.key.k.u64s == ptr->k.u64s && !memcmp(&s->ptr.key, ptr, ptr->k.u64s * 8);
}

static struct slot *slot_find(struct btree_prefetch *pf, const struct bkey_i *ptr,
			      enum btree_id id, unsigned level)
{
	for (unsigned i = 0; i < NR_SLOTS; i++)
		if (slot_is(&pf->slots[i], ptr, id, level))
			return &pf->slots[i];
	return NULL;
}

static struct slot *slot_oldest(struct btree_prefetch *pf, enum slot_state state)
{
	struct slot *best = NULL;

	for (unsigned i = 0; i < NR_SLOTS; i++) {
		struct slot *s = &pf->slots[i];

		if (s->state == state && (!best || s->order < best->order))
			best = s;
	}
	return best;
}

static void node_drop(struct btree *b)
{
	if (b) {
		bch_btree_node_free(b);
		free(b);
	}
}

static void *reader(void *arg)
{
	struct bch_fs *c = arg;
	struct btree_prefetch *pf = c->btree_prefetch;

	pthread_mutex_lock(&pf->lock);
	while (!pf->stopping) {
		struct slot *s = slot_oldest(pf, SLOT_QUEUED);

		if (!s) {
			pthread_cond_wait(&pf->queued, &pf->lock);
			continue;
		}
		s->state = SLOT_READING;
		pthread_mutex_unlock(&pf->lock);

		struct btree *b = calloc(1, sizeof(*b));

		if (b && bch_btree_node_read_quiet(c, &s->ptr.key, s->btree_id, s->level, b)) {
			node_drop(b);
			b = NULL;
		}
		pthread_mutex_lock(&pf->lock);
		s->node = b;
		s->state = SLOT_READ;
		pthread_cond_broadcast(&pf->read);
	}
	pthread_mutex_unlock(&pf->lock);
	return NULL;
}

static struct btree_prefetch *prefetch_alloc(struct bch_fs *c)
{
	struct btree_prefetch *pf = c->btree_prefetch;

	if (pf)
		return pf;
	pf = c->btree_prefetch = calloc(1, sizeof(*pf));
	if (!pf)
		return NULL;
	pthread_mutex_init(&pf->lock, NULL);
	pthread_cond_init(&pf->queued, NULL);
	pthread_cond_init(&pf->read, NULL);
	return pf;
}

/*
 * The read-ahead state, its thread started; NULL when it is off
 * (c->opts.read_ahead is cleared for good when it stops or cannot start).
 */
static struct btree_prefetch *prefetch_of(struct bch_fs *c)
{
	struct btree_prefetch *pf = prefetch_alloc(c);

	if (!pf)
		return NULL;
	if (!pf->running) {
		if (pthread_create(&pf->thread, NULL, reader, c)) {
			c->opts.read_ahead = false;
			return NULL;
		}
		pf->running = true;
		c->sb_edit = bch_btree_prefetch_stop;
	}
	return pf;
}

void bch_btree_prefetch_children(struct bch_fs *c, enum btree_id id, const struct btree *parent,
				 size_t idx)
{
	struct btree_prefetch *pf;
	bool queued = false;

	if (!c->opts.read_ahead || !parent->level || !(pf = prefetch_of(c)))
		return;
	pthread_mutex_lock(&pf->lock);
	for (size_t i = idx; i < parent->nr_keys && i < idx + AHEAD; i++) {
		const struct bkey *k = &parent->keys[i];
		union {
			struct bkey_i key;
			u8 buf[sizeof(((struct slot *)NULL)->ptr)];
		} ptr;
		struct slot *s;

		if ((k->type != KEY_TYPE_btree_ptr && k->type != KEY_TYPE_btree_ptr_v2) ||
		    (size_t)k->u64s * 8 > sizeof(ptr))
			continue;
		ptr.key.k = *k;
		memcpy(ptr.key.v, parent->vals[i], bkey_val_bytes(k));
		if (slot_find(pf, &ptr.key, id, parent->level - 1) ||
		    bch_btree_node_cached(c, &ptr.key, id, parent->level - 1))
			continue;
		s = slot_oldest(pf, SLOT_FREE) ?: slot_oldest(pf, SLOT_READ);
		if (!s)
			break;
		node_drop(s->node);
		s->node = NULL;
		s->state = SLOT_QUEUED;
		s->btree_id = id;
		s->level = parent->level - 1;
		s->order = pf->next_order++;
		memcpy(&s->ptr, &ptr, (size_t)k->u64s * 8);
		queued = true;
	}
	if (queued)
		pthread_cond_signal(&pf->queued);
	pthread_mutex_unlock(&pf->lock);
}

struct btree *bch_btree_prefetch_take(struct bch_fs *c, const struct bkey_i *ptr,
				      enum btree_id id, unsigned level)
{
	struct btree_prefetch *pf = c->btree_prefetch;
	struct btree *b = NULL;
	struct slot *s;

	if (!pf || !pf->running)
		return NULL;
	pthread_mutex_lock(&pf->lock);
	s = slot_find(pf, ptr, id, level);
	if (s && s->state == SLOT_QUEUED) {
		/* not started: the walker reads it now */
		s->state = SLOT_FREE;
	} else if (s) {
		while (s->state == SLOT_READING)
			pthread_cond_wait(&pf->read, &pf->lock);
		b = s->node;
		s->node = NULL;
		s->state = SLOT_FREE;
	}
	pthread_mutex_unlock(&pf->lock);
	return b;
}

void bch_btree_prefetch_stop(struct bch_fs *c)
{
	struct btree_prefetch *pf = c->btree_prefetch;

	c->opts.read_ahead = false;
	if (c->sb_edit == bch_btree_prefetch_stop)
		c->sb_edit = NULL;
	if (!pf)
		return;
	if (pf->running) {
		pthread_mutex_lock(&pf->lock);
		pf->stopping = true;
		pthread_cond_signal(&pf->queued);
		pthread_mutex_unlock(&pf->lock);
		pthread_join(pf->thread, NULL);
		pf->running = false;
	}
	for (unsigned i = 0; i < NR_SLOTS; i++) {
		node_drop(pf->slots[i].node);
		pf->slots[i].node = NULL;
		pf->slots[i].state = SLOT_FREE;
	}
}

void bch_btree_prefetch_exit(struct bch_fs *c)
{
	struct btree_prefetch *pf = c->btree_prefetch;

	if (!pf)
		return;
	bch_btree_prefetch_stop(c);
	pthread_mutex_destroy(&pf->lock);
	pthread_cond_destroy(&pf->queued);
	pthread_cond_destroy(&pf->read);
	free(pf);
	c->btree_prefetch = NULL;
}
