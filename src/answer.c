/*
 * answer.c
 *		Builds the jsonb document abt_assign returns for one experiment:
 *
 *		{"experiment_id": "...", "status": "active", "enrolled": true,
 *		 "new": false, "converted": false,
 *		 "elements": [{"element_id": "...", "element": "headline",
 *		               "selector": "h1", "variant_id": "...",
 *		               "variant": "B", "is_control": false,
 *		               "content": {...}}, ...]}
 *
 * A visitor an owner pinned (abtest.forced_variants, 1.1) gets "forced":
 * true after "converted"; no other answer has the key.  A visitor in the
 * holdout group of the experiment's holdout (1.1) gets "enrolled": false,
 * "holdout": true and the control of every element.
 *
 * The answer depends only on the configuration (whose version also fixes
 * the status), the visitor's combination of variants and the two flags, so
 * each configuration keeps the answers it has built: a returning visitor's
 * answer is a copy, not a rebuild (building sorts every object's keys); so
 * does the one answer of the visitors it does not enrol (1.1 callers).
 * They count in the configuration cache's memory (abtest.cache_memory):
 * an answer the budget has no room for is built on every call instead.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "answer.h"
#include "config_cache.h"
#include "experiment_config.h"
#include "lookup.h"
#include "rules.h"

typedef struct AnswerKey
{
	uint64		map_hash;		/* hash of the stored variant map's bytes */
	uint32		flags;			/* ANSWER_NEW | ANSWER_CONVERTED */
	uint32		padding;		/* zero: keys are compared bytewise */
} AnswerKey;

#define ANSWER_NEW			1
#define ANSWER_CONVERTED	2
#define ANSWER_FORCED		4
#define ANSWER_HELD_OUT		8
#define ANSWER_NOT_ENROLLED 16	/* no map: the one answer for everyone else */

typedef struct AnswerEntry
{
	AnswerKey	key;
	Jsonb	   *map;			/* to tell hash collisions apart; NULL: not enrolled */
	Jsonb	   *answer;
} AnswerEntry;

/*
 * What keeping an answer costs besides the two documents: the hash entry
 * and the chunk headers (an estimate; the cache measures what was taken).
 */
#define ANSWER_ENTRY_BYTES (2 * sizeof(AnswerEntry) + 64)

/* The hash table of a configuration's answers: its context's first block. */
#define ANSWER_TABLE_BYTES (8 * 1024 + 256)

/* Pushes an object key. */
static void
push_key(JsonbParseState **state, const char *key)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) key;
	v.val.string.len = strlen(key);
	pushJsonbValue(state, WJB_KEY, &v);
}

/* Pushes a string value, or null for NULL. */
static void
push_string(JsonbParseState **state, const char *key, const char *str)
{
	JsonbValue	v;

	push_key(state, key);
	if (str == NULL)
		v.type = jbvNull;
	else
	{
		v.type = jbvString;
		v.val.string.val = (char *) str;
		v.val.string.len = strlen(str);
	}
	pushJsonbValue(state, WJB_VALUE, &v);
}

/* Pushes a boolean value. */
static void
push_bool(JsonbParseState **state, const char *key, bool b)
{
	JsonbValue	v;

	push_key(state, key);
	v.type = jbvBool;
	v.val.boolean = b;
	pushJsonbValue(state, WJB_VALUE, &v);
}

/* Pushes a whole jsonb document as a value. */
static void
push_jsonb(JsonbParseState **state, const char *key, Jsonb *jb)
{
	JsonbValue	v;

	push_key(state, key);
	v.type = jbvBinary;
	v.val.binary.data = &jb->root;
	v.val.binary.len = VARSIZE(jb) - VARHDRSZ;
	pushJsonbValue(state, WJB_VALUE, &v);
}

/* Finds the stored variant of an element in the assignment's map, or NULL. */
static AbtVariant *
stored_variant(AbtElement *element, Jsonb *map)
{
	JsonbValue	buf;
	JsonbValue *v;

	v = getKeyJsonValueFromContainer(&map->root, element->id_text,
									 ABT_UUID_TEXT_LEN - 1, &buf);
	if (v == NULL || v->type != jbvString || v->val.string.len != ABT_UUID_TEXT_LEN - 1)
		return NULL;
	for (int i = 0; i < element->nvariants; i++)
		if (memcmp(element->variants[i].id_text, v->val.string.val, ABT_UUID_TEXT_LEN - 1) == 0)
			return &element->variants[i];
	return NULL;
}

/*
 * Builds the answer for one experiment.  Elements added after the visitor's
 * assignment, and variants deleted since, are left out: a visitor's page
 * never changes under them.
 */
static Jsonb *
build_answer(pg_uuid_t *experiment_id, AbtLookup *lookup, AbtConfig *config,
			 bool enrolled, bool is_new)
{
	JsonbParseState *state = NULL;
	JsonbValue *result;
	char		id_text[ABT_UUID_TEXT_LEN];

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	strlcpy(id_text, DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(experiment_id))),
			sizeof(id_text));
	push_string(&state, "experiment_id", id_text);
	push_string(&state, "status", lookup->status);
	push_bool(&state, "enrolled", enrolled);
	push_bool(&state, "new", is_new);
	if (enrolled)
		push_bool(&state, "converted", lookup->converted);
	if (lookup->forced)
		push_bool(&state, "forced", true);
	if (lookup->held_out)
		push_bool(&state, "holdout", true);
	push_key(&state, "elements");
	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; (enrolled || lookup->held_out) && i < config->nelements; i++)
	{
		AbtElement *element = &config->elements[i];
		AbtVariant *variant = stored_variant(element, lookup->variants);

		if (variant == NULL)
			continue;
		pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		push_string(&state, "element_id", element->id_text);
		push_string(&state, "element", element->name);
		push_string(&state, "selector", element->selector);
		push_string(&state, "variant_id", variant->id_text);
		push_string(&state, "variant", variant->name);
		push_bool(&state, "is_control", variant->is_control);
		push_jsonb(&state, "content", variant->content);
		pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	}
	pushJsonbValue(&state, WJB_END_ARRAY, NULL);
	result = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(result);
}

/* Returns a copy of jb in the current memory context. */
static Jsonb *
copy_jsonb(Jsonb *jb)
{
	Jsonb	   *copy = palloc(VARSIZE(jb));

	memcpy(copy, jb, VARSIZE(jb));
	return copy;
}

/*
 * The answer for one experiment, in the current memory context: from the
 * configuration's answers when it has built this one before.
 */
Jsonb *
abt_answer(pg_uuid_t *experiment_id, AbtLookup *lookup, AbtConfig *config,
		   bool enrolled, bool is_new)
{
	AnswerKey	key;
	AnswerEntry *entry;
	bool		found;
	Jsonb	   *answer;
	MemoryContext oldcontext;
	Jsonb	   *map = (enrolled || lookup->held_out) ? lookup->variants : NULL;

	/*
	 * 1.0 callers load no configuration for a visitor they do not enrol;
	 * answers are kept only in the configuration of the row's version (it
	 * fixes the status the answer shows)
	 */
	if (config == NULL || config->version != lookup->version)
		return build_answer(experiment_id, lookup, config, enrolled, is_new);

	memset(&key, 0, sizeof(key));
	if (map != NULL)
	{
		key.map_hash = hash_bytes_extended((unsigned char *) map, VARSIZE(map), 0);
		key.flags = (is_new ? ANSWER_NEW : 0) |
			(enrolled && lookup->converted ? ANSWER_CONVERTED : 0) |
			(lookup->forced ? ANSWER_FORCED : 0) | (lookup->held_out ? ANSWER_HELD_OUT : 0);
	}
	else
		key.flags = ANSWER_NOT_ENROLLED;
	entry = config->answers == NULL ? NULL :
		hash_search(config->answers, &key, HASH_FIND, NULL);
	if (entry != NULL &&
		(map == NULL ? entry->map == NULL :
		 (entry->map != NULL && VARSIZE(entry->map) == VARSIZE(map) &&
		  memcmp(entry->map, map, VARSIZE(map)) == 0)))
		return copy_jsonb(entry->answer);

	answer = build_answer(experiment_id, lookup, config, enrolled, is_new);
	if (entry == NULL &&
		abt_config_reserve(config, ANSWER_ENTRY_BYTES + VARSIZE(answer) +
						   (map == NULL ? 0 : VARSIZE(map)) +
						   (config->answers == NULL ? ANSWER_TABLE_BYTES : 0)))
	{
		Jsonb	   *map_copy;
		Jsonb	   *answer_copy;

		if (config->answers == NULL)
		{
			HASHCTL		ctl;

			ctl.keysize = sizeof(AnswerKey);
			ctl.entrysize = sizeof(AnswerEntry);
			ctl.hcxt = config->context;
			config->answers = hash_create("abtest answers", 16, &ctl,
										  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		}
		/* copies first: an entry is never seen half filled */
		oldcontext = MemoryContextSwitchTo(config->context);
		map_copy = map == NULL ? NULL : copy_jsonb(map);
		answer_copy = copy_jsonb(answer);
		MemoryContextSwitchTo(oldcontext);
		entry = hash_search(config->answers, &key, HASH_ENTER, &found);
		entry->map = map_copy;
		entry->answer = answer_copy;
		abt_config_charge(config);
	}
	return answer;
}
