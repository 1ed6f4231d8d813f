/* varmor-py node tracer: what the targeted containers do, first occurrences only.
 *
 * Tracepoints and raw tracepoints only. No kernel #include: every struct offset (OFF_*) and
 * syscall number (NR_*) comes from BTF / the syscall table as a -D flag (tracer/program.py). The
 * current task and its saved user registers are read with plain loads: BTF pointers
 * (bpf_rdonly_cast, Linux 6.2; bpf_get_current_task_btf and bpf_task_pt_regs before), and so is
 * untyped kernel memory (files, dentries, inodes) where the verifier takes bpf_rdonly_cast(p, 0)
 * (Linux 6.17; bpf_probe_read_kernel before).
 *
 * Attribution: cgroup-v2 id first (catches processes that join later, like `kubectl exec`),
 * then mount namespace (only when such targets exist; entries die with their anchor process,
 * because namespace inodes are reused at once), then the fork tree (targets added by pid).
 * The fork tree also tells the container's own processes (origin "container") from processes
 * that joined the cgroup later (origin "exec"). The answer is cached per CPU and keyed by the
 * task pointer (at sys_exit: its saved registers' address, which needs no helper call) and a
 * generation that user space bumps on every target change and the kernel bumps on every task
 * exit and free and cgroup move, so the common case costs at most one helper call.
 *
 * A process in a child cgroup of a target cgroup belongs to that target (the deepest targeted
 * ancestor wins).
 *
 * One program on the raw sys_exit tracepoint sees every syscall, its number and its result: no
 * sys_enter program and no per-syscall exit tracepoint (each would cost every syscall on the node).
 * Per target, origin and syscall ABI (native, ia32), the syscall set is a bitmap read by user
 * space (one for all CPUs: a bit is set, atomically, only when it is new, so its cache line stays
 * shared, and a lookup reads no per-CPU pointer table); everything else goes through an LRU
 * first-occurrence filter (behind a cache of the keys it passed already, `front`) and then the
 * ring buffer. File keys hold the dentry, the mount, the inode, its number and generation and the
 * name's hash, so a freed dentry whose address comes back for a new file cannot hide it. Execs
 * and names (link, unlink, rename, mkdir, ...) are deduplicated in user space, on the path.
 * Calls that failed produce nothing. Capability checks made "noaudit" by the kernel (the caller
 * is one of the functions whose address ranges user space writes into `noaudit`) are skipped:
 * an audit-based recorder never sees them either. Loss counters are kept per session and per
 * target slot. Paths are resolved by one program (walk_path), reached by tail call, so the walk
 * is compiled and verified once; paths longer than the kernel's 4,096 bytes are flagged.
 * Records go through one ring buffer without a wake-up each (a wake-up costs the traced task
 * more than the record): user space drains it every 50 ms (250 ms when idle), and every WAKE_EVERY-th
 * record on a CPU wakes it early. Records that do not fit are counted as lost. A record that
 * carries no string but its path (a file opened, mapped or locked; a capability, socket or
 * ptrace) is sent compact: the header and the used part of the path only (`compact` = 1).
 */
#define PBUF 4096
#define PMASK (PBUF - 1)
#define MAX_STEPS 2048        /* a 4,096-byte path has at most 2,048 components */
#define WALK_STEP 64          /* path components per walk_path call */
#define MAXT 1024             /* target slots (a power of two) */
#define NR_WORDS 8            /* 8 x 64 = 512 syscall numbers */
#define NCOLS 4               /* bitmaps per slot: origin (2) x ABI (native, ia32) */
#define MAX_CG_LEVEL 16       /* cgroup ancestors checked for a targeted one */
#define NOAUDIT_RANGES 16
#define STACK_FRAMES 8
#ifndef RING_PAGES
#define RING_PAGES 8192       /* 32 MiB */
#endif
#define AT_FDCWD -100
#define WAKE_EVERY 1024       /* records per CPU between forced ring-buffer wake-ups */
#define DEDUP_ENTRIES 262144  /* first-occurrence keys of every target (one tar of /usr: 65k) */

enum { EV_EXEC = 1, EV_FILE, EV_CAP, EV_SOCKET, EV_CONNECT, EV_BIND, EV_PTRACE, EV_SIGNAL,
       EV_MOUNT, EV_UMOUNT };
/* file access bits (user space maps them to schema access classes) */
enum { A_READ = 1, A_WRITE = 2, A_APPEND = 4, A_CREATE = 8, A_MMAP = 16, A_LINK = 32, A_LOCK = 64,
       A_DELETE = 128, A_RENAME = 256, A_DIR = 512, A_NAME = 1024 };   /* A_NAME: the name as given */
enum { C_MAP_FULL = 0, C_TRUNCATED = 1, C_NR_RANGE = 2, C_NO_WALK = 3, C_LOST = 4, C_NCOUNTERS = 5 };
enum { CFG_MNT = 1, CFG_TREE = 2 };
enum { P_WALK = 0, P_FD = 1, P_NAMES = 2 };

struct tgt { u32 id; u32 slot; };
struct who { u64 task; u64 regs; u64 kgen; u32 ugen; u32 id; u32 origin; u32 base; u32 slot; u32 pad; };  /* id 0: none */
struct cfg_t { u32 flags; u32 ugen; };   /* written by user space only */
struct event {
    u32 type; u32 pid; u32 id; u32 origin;     /* origin: 1 container tree, 0 joined later */
    s64 a0, a1, a2, a3;
    u32 len; u32 trunc; u32 slot; u32 compact;
    char comm[16];
    char s2[64];
    char s1[256];
    char path[PBUF];
};
/* Paths to resolve for evbuf[0..n), walked by walk_path (a tail call) in order. */
struct job_t {
    u64 mnt[2]; u64 dentry[2]; u32 n; u32 cur;     /* for walk_path */
    u64 wmnt; u64 wdentry; s32 off; u32 steps; u32 walking; u32 trunc;   /* a walk in progress */
    u64 name[2]; s64 dirfd[2]; s64 fd; u32 acc[2];  /* for fd_prog and names_prog */
};
#define HEAD offsetof(struct event, s2)  /* a compact record: the header, then the path */
struct cevent { char head[HEAD]; char path[PBUF]; };
struct range_t { u64 start; u64 end; };
struct pbuf_t { char b[PBUF * 2]; };
struct dkey_t { u64 k1; u64 k2; u64 k3; u64 k4; u32 id; u16 type; u16 origin; };

BPF_PERCPU_ARRAY(evbuf, struct event, 2);
BPF_PERCPU_ARRAY(cbuf, struct cevent, 1);
BPF_PERCPU_ARRAY(jobs, struct job_t, 1);
BPF_PERCPU_ARRAY(pbuf, struct pbuf_t, 1);
BPF_PERCPU_ARRAY(cache, struct who, 1);
BPF_PERCPU_ARRAY(nrecords, u64, 1);
BPF_PROG_ARRAY(progs, 3);                    /* P_WALK, P_FD, P_NAMES: loaded by user space */
BPF_RINGBUF_OUTPUT(events, RING_PAGES);
BPF_HASH(cg_targets, u64, struct tgt, MAXT);
BPF_HASH(mnt_targets, u32, struct tgt, MAXT);
BPF_HASH(mnt_anchor, u32, u32, MAXT);          /* anchor tgid -> mnt ns inode */
BPF_HASH(pid_targets, u32, struct tgt, MAXT);  /* target id -> target, attributed by tree */
BPF_HASH(tree, u32, u32, 65536);               /* tgid -> target id (container's own tree) */
BPF_ARRAY(cfg, struct cfg_t, 1);
BPF_ARRAY(kgen, u64, 1);                     /* written by the kernel only */
BPF_ARRAY(counters, u64, C_NCOUNTERS);                 /* the session's */
BPF_ARRAY(tcounters, u64, MAXT * C_NCOUNTERS);         /* [slot][counter] */
BPF_ARRAY(noaudit, struct range_t, NOAUDIT_RANGES);    /* written by user space at load */
struct stack_t { u64 frames[STACK_FRAMES]; };
BPF_PERCPU_ARRAY(stackbuf, struct stack_t, 1);
BPF_ARRAY(sysbits, u64, MAXT * NCOLS * NR_WORDS);   /* [slot][origin][abi][word] */
BPF_TABLE("lru_hash", struct dkey_t, u8, dedup, DEDUP_ENTRIES);
#define FRONT_BITS 15         /* front: 32,768 sets of FRONT_WAYS keys, a cache line each */
#define FRONT_WAYS 8
struct front_t { u64 h[FRONT_WAYS]; };
BPF_ARRAY(front, struct front_t, 1 << FRONT_BITS);

/* The user-memory read helpers, called through their helper numbers: for a call to
 * bpf_probe_read_user* by that name BCC reads the kernel's whole symbol table to check that the
 * helper exists (half a second of every compile); every kernel with BTF has them. */
static long (*read_user)(void *dst, u32 size, const void *src) = (void *)BPF_FUNC_probe_read_user;
static long (*read_user_str)(void *dst, u32 size, const void *src) = (void *)BPF_FUNC_probe_read_user_str;


/* The current task as a BTF pointer: its members, and the members of the structs it points to,
 * are read with plain loads (the verifier knows their types; the JIT makes them fault-safe)
 * rather than one bpf_probe_read_kernel call each, which costs about 30 ns. Memory reached
 * through a pointer read from memory that is not typed (file tables, dentries) still needs
 * bpf_probe_read_kernel: those reads are batched, one per struct. */
static __always_inline void *task_btf(void) { return (void *)bpf_get_current_task_btf(); }
static __always_inline void *member_ptr(void *typed, u32 off) { return *(void **)((char *)typed + off); }

/* The current task as a read-only BTF pointer for plain loads: the kfunc bpf_rdonly_cast (Linux
 * 6.2), which the verifier replaces by a register move, applied to the task's address. Every
 * helper call costs a traced syscall (a kernel `ret` is expensive with speculative-return
 * mitigations: about 12 ns under SRSO's Safe RET), and bpf_get_current_task() is one: classify()
 * calls it once per run and keeps the address in the per-CPU cache (who.task), which task_of()
 * casts. Only helpers that take a task (bpf_task_pt_regs) need task_btf(). A kfunc is called by
 * its BTF id: the loader turns a call to helper number 0x40000000 | id into one
 * (tracer.kernel.kfunc_calls). */
#if KFUNC_RDONLY_CAST > 0
static void *(*rdonly_cast)(u64 obj, u32 btf_id) = (void *)(0x40000000L | KFUNC_RDONLY_CAST);
static __always_inline void *task_at(u64 task) { return rdonly_cast(task, BTF_TASK_STRUCT); }
#else
static __always_inline void *task_at(u64 task) { return task_btf(); }
#endif
static __always_inline void *task_ro(void) { return task_at(bpf_get_current_task()); }

/* Reads of untyped kernel memory (file tables, files, dentries, inodes, mounts). With
 * KFUNC_VOID_CAST (Linux 6.17) bpf_rdonly_cast(p, 0) makes p read-only untrusted memory: a plain
 * load the JIT makes fault-safe, about 1 ns, where a bpf_probe_read_kernel call costs 20-30. */
#if KFUNC_VOID_CAST > 0
static __always_inline const char *ro(const void *p) { return rdonly_cast((u64)p, 0); }
#define RD(type, p) (*(const type *)ro(p))
#else
#define RD(type, p) ({ type _v = 0; bpf_probe_read_kernel(&_v, sizeof(_v), (p)); _v; })
#endif
static __always_inline void *rdp(const void *p) { return (void *)RD(u64, p); }

/* The current task of a classified run (classify() has just set who.task). */
static __always_inline void *task_of(struct who *t) { return task_at(t->task); }

/* The user registers saved at syscall entry (the arguments are still there at exit): at sys_exit,
 * the raw tracepoint's first argument, read with plain loads (KFUNC_VOID_CAST); before Linux 6.17 a
 * BTF pointer from bpf_task_pt_regs. */
#if KFUNC_VOID_CAST > 0
static __always_inline const void *regs_at(u64 regs) { return ro((void *)regs); }
#else
static __always_inline const void *regs_at(u64 regs) { return (void *)bpf_task_pt_regs(task_btf()); }
#endif
static __always_inline u64 reg_arg(const void *regs, u32 off) { return *(const u64 *)((const char *)regs + off); }

/* Count one loss in the session and, when the slot is known (< MAXT), for that target. */
static __always_inline void count_in(u32 which, u32 slot) {
    u64 *c = counters.lookup(&which);
    if (c) __sync_fetch_and_add(c, 1);
    if (slot >= MAXT) return;
    u32 k = slot * C_NCOUNTERS + which;
    c = tcounters.lookup(&k);
    if (c) __sync_fetch_and_add(c, 1);
}
static __always_inline void count(u32 which) { count_in(which, MAXT); }

static __always_inline void bump_gen(void) {
    int z = 0;
    u64 *g = kgen.lookup(&z);
    if (g) __sync_fetch_and_add(g, 1);
}

static __always_inline u32 cur_mntns(void) {
    void *nsp = member_ptr(task_ro(), OFF_TASK_NSPROXY);
    void *mnt = nsp ? member_ptr(nsp, OFF_NSPROXY_MNTNS) : 0;
    return mnt ? *(u32 *)((char *)mnt + OFF_MNTNS_INUM) : 0;
}

/* The deepest targeted cgroup among the current task's cgroup and its ancestors. */
static __always_inline struct tgt *cgroup_target(void) {
    u64 cg = bpf_get_current_cgroup_id();
    struct tgt *t = cg_targets.lookup(&cg);
    if (t) return t;
    #pragma clang loop unroll(disable)
    for (int level = 1; level <= MAX_CG_LEVEL; level++) {   /* down from the root to its parent */
        u64 a = bpf_get_current_ancestor_cgroup_id(level);
        if (!a || a == cg) break;
        struct tgt *found = cg_targets.lookup(&a);
        if (found) t = found;
    }
    return t;
}

/* runc's own set-up process (comm runc:[0:PARENT], runc:[1:CHILD], runc:[2:INIT]) runs in the
 * container's cgroup until it execs the container's (or a `kubectl exec`'s) command. Its steps are
 * the runtime's, not the workload's, and upstream's profiles only apply from that exec on; it must be
 * skipped here, before the first-occurrence filter, or what it touched would hide the workload's own
 * later use. An exec bumps the generation, so the same task is classified again under its new name. */
static __always_inline int runtime_setup(void) {
    char comm[8] = {};
    bpf_get_current_comm(comm, sizeof(comm));
    return comm[0] == 'r' && comm[1] == 'u' && comm[2] == 'n' && comm[3] == 'c' && comm[4] == ':' &&
           comm[5] == '[';
}

/* The slow path of classify(): cgroup (or an ancestor), then mount namespace, then fork tree. */
static __always_inline void classify_slow(struct who *w, u32 flags) {
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    struct tgt *t = cgroup_target();
    if (!t && (flags & CFG_MNT)) {
        u32 m = cur_mntns();
        t = mnt_targets.lookup(&m);
    }
    u32 *tid = tree.lookup(&tgid);
    if (!t && (flags & CFG_TREE) && tid) t = pid_targets.lookup(tid);
    if (t && runtime_setup()) t = 0;
    w->id = t ? t->id : 0;
    w->origin = t && tid && *tid == t->id;
    w->slot = t ? t->slot & (MAXT - 1) : 0;
    w->base = t ? (w->slot * 2 + w->origin) * 2 * NR_WORDS : 0;
}

/* The target of the current task (id 0: none), from the per-CPU cache when it is current. The
 * cache is keyed by the task's address (bpf_get_current_task(): a helper call) or, at sys_exit,
 * by the address of its saved user registers (`regs`, the raw tracepoint's first argument: no
 * call), which is unique among live tasks (on the task's own stack). A stack is freed only after
 * its task's sched_process_exit, which bumps the generation, so a new task given that stack
 * cannot match the old entry. */
static __always_inline struct who *classify_at(u64 regs) {
    int z = 0;
    struct who *w = cache.lookup(&z);
    struct cfg_t *f = cfg.lookup(&z);
    u64 *g = kgen.lookup(&z);
    if (!w || !f || !g) return 0;
    u64 kg = *g;
    u32 ug = f->ugen, current = w->kgen == kg && w->ugen == ug && !(f->flags & CFG_MNT);
    if (regs && current && w->regs == regs) return w->id ? w : 0;
    u64 task = bpf_get_current_task();
    if (w->task != task || !current) {
        classify_slow(w, f->flags);
        w->task = task; w->kgen = kg; w->ugen = ug; w->regs = 0;
    }
    if (regs) w->regs = regs;
    return w->id ? w : 0;
}
static __always_inline struct who *classify(void) { return classify_at(0); }
/* In a program reached by tail call: the answer its caller has just put in the cache (the same run
 * on the same CPU, for the same task). */
static __always_inline struct who *classified(void) {
    int z = 0;
    struct who *w = cache.lookup(&z);
    return w && w->id ? w : 0;
}

static __always_inline u32 in_tree(u32 id, u32 pid) {
    u32 *v = tree.lookup(&pid);
    return v && *v == id;
}

/* The first-occurrence filter: the LRU `dedup`, behind `front`, an 8-way set-associative cache of
 * the keys the filter has already passed (a key in `front` was emitted before: it is skipped without
 * the LRU's lookup, whose buckets and elements spread over pages that miss the TLB). `front` holds
 * a 64-bit hash of each key (0: an empty way), eight to a set, a set per cache line, 2 MiB in all: a
 * new key is mistaken for one of the eight with a probability of 2^-61 per lookup, and a way torn by
 * two concurrent writers matches nothing real. A steady-state open costs about one cache miss, on
 * its set: a file's set comes from its inode number (`near`), four consecutive numbers to a set,
 * so that the files of one directory (created together, numbered together) share a few lines
 * rather than a line each; other keys' sets come from their hash. Target ids are never reused, so
 * no entry outlives its meaning. */
#define NEAR_SHIFT 2          /* consecutive inode numbers per front set */
static __always_inline u64 mix(u64 h, u64 k, u64 m) { return (h ^ k ^ (h >> 31)) * m; }
/* The key's 64-bit hash (never 0) and its set in `front`. */
static __always_inline u64 front_hash(struct who *t, u16 type, u64 k1, u64 k2, u64 k3, u64 k4, u64 near,
                                      u32 *set) {
    u64 idt = ((u64)t->origin << 48) | ((u64)type << 32) | t->id;
    u64 h = mix(mix(mix(mix(mix(0x243F6A8885A308D3ULL, k1, 0xBF58476D1CE4E5B9ULL), k2, 0x94D049BB133111EBULL),
                        k3, 0xBF58476D1CE4E5B9ULL), k4, 0x94D049BB133111EBULL), idt, 0xBF58476D1CE4E5B9ULL);
    h ^= h >> 29;
    if (!h) h = 1;
    *set = near ? (u32)((near >> NEAR_SHIFT) + ((idt * 0x9E3779B97F4A7C15ULL) >> 40)) & ((1 << FRONT_BITS) - 1)
                : (u32)(h >> (64 - FRONT_BITS));
    return h;
}
static __always_inline int front_holds(struct front_t *f, u64 h) {
    if (!f) return 0;
    #pragma unroll
    for (int w = 0; w < FRONT_WAYS; w++)
        if (f->h[w] == h) return 1;
    return 0;
}
/* Whether `front` holds the key: it passed the filter before. */
static __always_inline int in_front(struct who *t, u16 type, u64 k1, u64 k2, u64 k3, u64 k4, u64 near) {
    u32 set = 0;
    u64 h = front_hash(t, type, k1, k2, k3, k4, near, &set);
    return front_holds(front.lookup(&set), h);
}
/* Whether the key is a first occurrence (it is then remembered). */
static __always_inline int first4(struct who *t, u16 type, u64 k1, u64 k2, u64 k3, u64 k4, u64 near) {
    u32 set = 0;
    u64 h = front_hash(t, type, k1, k2, k3, k4, near, &set);
    struct front_t *f = front.lookup(&set);
    if (front_holds(f, h)) return 0;
    struct dkey_t k = {.k1 = k1, .k2 = k2, .k3 = k3, .k4 = k4, .id = t->id, .type = type,
                       .origin = t->origin};
    u8 one = 1;
    int fresh = !dedup.lookup(&k);
    if (fresh && dedup.update(&k, &one)) count_in(C_MAP_FULL, t->slot);
    if (f) {
        u32 w = (h >> 32) & (FRONT_WAYS - 1);   /* a way at random, */
        #pragma unroll
        for (int v = FRONT_WAYS - 1; v >= 0; v--)
            if (!f->h[v]) w = v;                 /* or the first empty one */
        f->h[w & (FRONT_WAYS - 1)] = h;
    }
    return fresh;
}
static __always_inline int first(struct who *t, u16 type, u64 k1, u64 k2) {
    return first4(t, type, k1, k2, 0, 0, 0);
}
static __always_inline int seen(struct who *t, u16 type, u64 k1, u64 k2) {
    struct dkey_t k = {.k1 = k1, .k2 = k2, .k3 = 0, .k4 = 0, .id = t->id, .type = type,
                       .origin = t->origin};
    return dedup.lookup(&k) != 0;
}

static __always_inline struct event *ev_at(int i, u32 type, struct who *t) {
    struct event *e = evbuf.lookup(&i);
    if (!e) return 0;
    e->type = type; e->id = t->id; e->origin = t->origin; e->slot = t->slot;
    e->pid = bpf_get_current_pid_tgid() >> 32;
    e->a0 = e->a1 = e->a2 = e->a3 = 0; e->len = 0; e->trunc = 0; e->compact = 0;
    e->s1[0] = 0; e->s2[0] = 0; e->path[0] = 0;
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    return e;
}
static __always_inline struct event *ev_new(u32 type, struct who *t) { return ev_at(0, type, t); }

static __always_inline u64 wake_flags(void) {
    int z = 0;
    u64 *r = nrecords.lookup(&z);
    return r && (++*r & (WAKE_EVERY - 1)) == 0 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}
/* Records with no string but the path (user space leaves s1 and s2 empty) */
static __always_inline int plain(struct event *e) {
    return e->type == EV_CAP || e->type == EV_SOCKET || e->type == EV_PTRACE ||
           (e->type == EV_FILE && !(e->a0 & A_NAME));
}
static __always_inline void submit(void *ctx, struct event *e) {
    u32 n = e->len;
    u32 size = offsetof(struct event, path) + (n & PMASK) + 1;
    if (size > sizeof(*e)) size = sizeof(*e);
    if (plain(e) && !n) {
        e->compact = 1;
        size = HEAD;
    }
    if (events.ringbuf_output(e, size, wake_flags())) count_in(C_LOST, e->slot);
}
/* A plain event with the path walked into buf[off..PBUF): header and path, compact. */
static __always_inline void submit_path(void *ctx, struct event *e, u32 off, char *buf) {
    int z = 0;
    struct cevent *c = cbuf.lookup(&z);
    if (!c) { count_in(C_LOST, e->slot); return; }
    e->compact = 1;
    __builtin_memcpy(c->head, e, HEAD);
    u32 n = e->len & PMASK;
    bpf_probe_read_kernel(c->path, n, &buf[off & PMASK]);
    c->path[n] = 0;
    if (events.ringbuf_output(c, HEAD + n + 1, wake_flags())) count_in(C_LOST, e->slot);
}

static __always_inline struct job_t *job(void) { int z = 0; return jobs.lookup(&z); }

/* Path i of evbuf[i] to resolve (vfsmnt 0: none), for walk_and_submit. */
static __always_inline void set_job(u32 i, void *vfsmnt, void *dentry) {
    struct job_t *j = job();
    if (!j) return;
    j->mnt[i & 1] = (u64)vfsmnt; j->dentry[i & 1] = (u64)dentry;
}

/* Hand evbuf[0..n) to walk_path, which resolves their job paths and submits them. */
static __always_inline int walk_and_submit(void *ctx, u32 n) {
    struct job_t *j = job();
    if (!j) return 0;
    j->n = n; j->cur = 0; j->walking = 0;
    progs.call(ctx, P_WALK);
    int z = 0;
    struct event *e = evbuf.lookup(&z);
    count_in(C_NO_WALK, e ? e->slot : MAXT);   /* reached only when the tail call failed */
    return 0;
}

/* The file's owner is the caller: inode uid (read by the caller) == current fsuid (AppArmor's
 * `owner`). */
static __always_inline u32 owned(struct who *t, u32 iuid) {
    void *cred = member_ptr(task_of(t), OFF_TASK_CRED);
    return cred && iuid == *(u32 *)((char *)cred + OFF_CRED_FSUID);
}

/* Batched reads of untyped kernel memory: the dentry members a walk step and a file key need
 * (d_parent, d_name, d_inode: one span), and the inode members of a file key (one span). */
#define MIN2(a, b) ((a) < (b) ? (a) : (b))
#define MAX2(a, b) ((a) > (b) ? (a) : (b))
#define D_LO MIN2(MIN2(OFF_DENTRY_PARENT, OFF_DENTRY_NAME), OFF_DENTRY_INODE)
#define D_HI MAX2(MAX2(OFF_DENTRY_PARENT + 8, OFF_DENTRY_NAME + 16), OFF_DENTRY_INODE + 8)
#define I_LO MIN2(MIN2(OFF_INODE_MODE, OFF_INODE_UID), MIN2(OFF_INODE_INO, OFF_INODE_GENERATION))
#define I_HI MAX2(MAX2(OFF_INODE_MODE + 2, OFF_INODE_UID + 4), MAX2(OFF_INODE_INO + 8, OFF_INODE_GENERATION + 4))
_Static_assert(OFF_PATH_MNT < 16 && OFF_PATH_DENTRY < 16 && OFF_PATH_MNT % 8 == 0 &&
               OFF_PATH_DENTRY % 8 == 0, "struct path: two pointers");
_Static_assert(D_HI - D_LO <= 64 && (OFF_DENTRY_PARENT - D_LO) % 8 == 0 && (OFF_DENTRY_NAME - D_LO) % 8 == 0 &&
               (OFF_DENTRY_INODE - D_LO) % 8 == 0, "dentry members one aligned span of at most 64 bytes");
_Static_assert(I_HI - I_LO <= 256, "inode members in one span of at most 256 bytes");
struct dspan_t { u64 w[8]; };
struct ispan_t { char b[I_HI - I_LO]; };
#define D_PARENT(d) ((void *)(d)->w[(OFF_DENTRY_PARENT - D_LO) / 8])
#define D_HASH_LEN(d) ((d)->w[(OFF_DENTRY_NAME - D_LO) / 8])      /* hash: low 32 bits, len: high */
#define D_NAME(d) ((const char *)(d)->w[(OFF_DENTRY_NAME - D_LO) / 8 + 1])
#define D_INODE(d) ((void *)(d)->w[(OFF_DENTRY_INODE - D_LO) / 8])
#define I_FIELD(sp, type, off) (*(type *)&(sp)->b[(off) - I_LO])
static __always_inline void read_dentry(struct dspan_t *d, void *dentry) {
#if KFUNC_VOID_CAST > 0
    const char *p = (const char *)dentry;
    d->w[(OFF_DENTRY_PARENT - D_LO) / 8] = RD(u64, p + OFF_DENTRY_PARENT);
    d->w[(OFF_DENTRY_NAME - D_LO) / 8] = RD(u64, p + OFF_DENTRY_NAME);
    d->w[(OFF_DENTRY_NAME - D_LO) / 8 + 1] = RD(u64, p + OFF_DENTRY_NAME + 8);
    d->w[(OFF_DENTRY_INODE - D_LO) / 8] = RD(u64, p + OFF_DENTRY_INODE);
#else
    bpf_probe_read_kernel(d, D_HI - D_LO, (char *)dentry + D_LO);
#endif
}
/* The inode members of a file key. */
static __always_inline void read_inode(struct ispan_t *in, void *inode) {
    if (!inode) return;
#if KFUNC_VOID_CAST > 0
    const char *p = (const char *)inode;
    I_FIELD(in, u16, OFF_INODE_MODE) = RD(u16, p + OFF_INODE_MODE);
    I_FIELD(in, u32, OFF_INODE_UID) = RD(u32, p + OFF_INODE_UID);
    I_FIELD(in, u64, OFF_INODE_INO) = RD(u64, p + OFF_INODE_INO);
    I_FIELD(in, u32, OFF_INODE_GENERATION) = RD(u32, p + OFF_INODE_GENERATION);
#else
    bpf_probe_read_kernel(in, sizeof(*in), (char *)inode + I_LO);
#endif
}

/* d_path-like walk up to the mount-namespace root, right-aligned into a per-CPU buffer, then
 * copied into e->path. WALK_STEP components per call of walk_path (a bounded loop), which
 * tail-calls itself to go on; a path that does not fit the kernel's 4,096 bytes is flagged as
 * truncated. Returns 1 when the walk is over. */
static __always_inline int walk_steps(struct job_t *j, char *buf) {
    void *mnt = (void *)j->wmnt, *dentry = (void *)j->wdentry;
    void *vfsmnt = (char *)mnt + OFF_MOUNT_MNT;
    void *mnt_root = rdp((char *)vfsmnt + OFF_VFSMOUNT_ROOT);
    int off = j->off, over = 0;
    #pragma clang loop unroll(disable)
    for (int i = 0; i < WALK_STEP; i++) {
        struct dspan_t d = {};
        read_dentry(&d, dentry);
        void *parent = D_PARENT(&d);
        if (dentry == mnt_root || dentry == parent) {
            void *mparent = rdp((char *)mnt + OFF_MOUNT_PARENT);
            if (dentry != mnt_root || mparent == mnt) { j->trunc = 0; over = 1; break; }
            dentry = rdp((char *)mnt + OFF_MOUNT_MOUNTPOINT);
            mnt = mparent;
            mnt_root = rdp((char *)mnt + OFF_MOUNT_MNT + OFF_VFSMOUNT_ROOT);
            continue;
        }
        u32 len = (D_HASH_LEN(&d) >> 32) & 255;
        const char *name = D_NAME(&d);
        if (off - (int)len - 1 < 0) { over = 1; break; }
        off -= len + 1;
        buf[off & PMASK] = '/';
        u64 l = len;
        asm volatile("%[l] &= 0xff" : [l]"+r"(l));
        bpf_probe_read_kernel(&buf[(off + 1) & PMASK], l, name);
        dentry = parent;
    }
    j->wmnt = (u64)mnt; j->wdentry = (u64)dentry; j->off = off;
    j->steps += WALK_STEP;
    return over || j->steps >= MAX_STEPS;
}

/* Sets the walked path's length; copies it into e->path unless the event goes out compact
 * (submit_path copies it from buf). Returns where the path starts in buf. */
static __always_inline u32 walk_done(struct event *e, struct job_t *j, char *buf) {
    int off = j->off;
    if (off == PBUF) { off--; buf[off & PMASK] = '/'; }
    u32 n = PBUF - off;
    e->len = n; e->trunc |= j->trunc;   /* a name may be flagged already */
    if (j->trunc) count_in(C_TRUNCATED, e->slot);
    if (!plain(e)) bpf_probe_read_kernel(e->path, n & PMASK, &buf[off & PMASK]);
    return off;
}

/* Tail-call target P_WALK: resolves and submits evbuf[cur], WALK_STEP components per call; calls
 * itself again to go on with the path, then with the next event. */
int walk_path(void *ctx) {
    int z = 0;
    struct job_t *j = jobs.lookup(&z);
    struct pbuf_t *pb = pbuf.lookup(&z);
    if (!j || !pb) return 0;
    u32 i = j->cur & 1, k = i;           /* k: the key, so that i stays bounded in a register */
    struct event *e = evbuf.lookup(&k);
    if (!e || j->cur >= j->n) return 0;
    if (!j->walking && j->mnt[i] && j->dentry[i]) {
        j->walking = 1; j->trunc = 1; j->off = PBUF; j->steps = 0;
        j->wmnt = j->mnt[i] - OFF_MOUNT_MNT; j->wdentry = j->dentry[i];
    }
    if (j->walking) {
        if (!walk_steps(j, pb->b)) {
            progs.call(ctx, P_WALK);
            count_in(C_NO_WALK, e->slot);
        }
        u32 off = walk_done(e, j, pb->b);
        j->walking = 0;
        if (plain(e)) submit_path(ctx, e, off, pb->b);
        else submit(ctx, e);
    } else submit(ctx, e);
    j->cur++;
    if (j->cur < j->n) progs.call(ctx, P_WALK);
    return 0;
}

static __always_inline void *fd_file(struct who *t, long fd) {
    void *files = member_ptr(task_of(t), OFF_TASK_FILES);
    void *fdt = files ? member_ptr(files, OFF_FILES_FDT) : 0;
    if (!fdt || fd < 0 || fd >= *(u32 *)((char *)fdt + OFF_FDT_MAXFDS)) return 0;
    void *arr = member_ptr(fdt, OFF_FDT_FD);   /* struct file **: the element is read untyped */
    return rdp((char *)arr + fd * 8);
}

/* The first-occurrence key of the file open at fd, accessed as acc (A_DIR added for a directory);
 * 0 when there is no such file. */
struct fkey_t { u64 dentry; u64 vfsmnt; u64 inode; u64 ino; u64 gen_hash; u32 acc; u32 uid; };
static __always_inline int file_key(struct who *t, long fd, u32 acc, struct fkey_t *k) {
    void *file = fd_file(t, fd);
    if (!file) return 0;
    void *vfsmnt = rdp((char *)file + OFF_FILE_PATH + OFF_PATH_MNT);
    void *dentry = rdp((char *)file + OFF_FILE_PATH + OFF_PATH_DENTRY);
    if (!vfsmnt || !dentry) return 0;
    struct dspan_t d = {};
    read_dentry(&d, dentry);
    void *inode = D_INODE(&d);
    struct ispan_t in = {};
    read_inode(&in, inode);
    k->dentry = (u64)dentry; k->vfsmnt = (u64)vfsmnt; k->inode = (u64)inode;
    k->ino = I_FIELD(&in, u64, OFF_INODE_INO);
    k->gen_hash = ((u64)I_FIELD(&in, u32, OFF_INODE_GENERATION) << 32) | (u32)D_HASH_LEN(&d);
    k->acc = acc | ((I_FIELD(&in, u16, OFF_INODE_MODE) & 0170000) == 0040000 ? A_DIR : 0);
    k->uid = I_FIELD(&in, u32, OFF_INODE_UID);
    return 1;
}
#define FILE_KEY(k) EV_FILE | ((k)->acc << 4), (k)->dentry, (k)->vfsmnt, (k)->inode ^ (k)->ino, (k)->gen_hash, (k)->ino

/* Tail-call target P_FD: a file event for job fd with job acc, once per target/origin/access. */
int fd_prog(void *ctx) {
    struct job_t *j = job();
    struct who *t = classified();
    if (!j || !t) return 0;
    struct fkey_t k = {};
    if (!file_key(t, j->fd, j->acc[0], &k) || !first4(t, FILE_KEY(&k))) return 0;
    struct event *e = ev_new(EV_FILE, t);
    if (!e) return 0;
    e->a0 = k.acc;
    e->a1 = k.inode && owned(t, k.uid);
    set_job(0, (void *)k.vfsmnt, (void *)k.dentry);
    return walk_and_submit(ctx, 1);
}

/* A file event for fd, accessed as acc: the common case, a key `front` holds, ends here; any
 * other goes on in fd_prog (a tail call, so that its event code is verified once). */
static __always_inline int fd_event(void *ctx, struct who *t, long fd, u32 acc) {
    struct fkey_t k = {};
    if (!file_key(t, fd, acc, &k) || in_front(t, FILE_KEY(&k))) return 0;
    struct job_t *j = job();
    if (!j) return 0;
    j->fd = fd; j->acc[0] = acc;
    progs.call(ctx, P_FD);
    return 0;
}

/* ---------------- syscall set ---------------- */
/* The bitmap column of the current task's syscall ABI: 0 native, NR_WORDS compat (ia32, aarch32). */
static __always_inline u32 abi_of(struct who *t) {
#if COMPAT_OFF >= 0
    u32 status = *(u32 *)((char *)task_of(t) + COMPAT_OFF);
    return (status & COMPAT_MASK) ? NR_WORDS : 0;
#else
    return 0;
#endif
}
/* Syscall nr (of the ABI column abi) into the target's set; -1 (no such syscall) is skipped. */
static __always_inline void set_nr(struct who *t, u32 abi, s64 nr) {
    if (nr < 0) return;
    if (nr >= NR_WORDS * 64) { count_in(C_NR_RANGE, t->slot); return; }
    u32 i = t->base + abi + (nr >> 6);
    u64 *w = sysbits.lookup(&i);
    u64 bit = 1ULL << (nr & 63);
    if (w && !(*w & bit)) __sync_fetch_and_or(w, bit);
}
/* The syscalls that end a task never reach sys_exit: at sched_process_exit, the syscall the task
 * made last (its saved registers) is recorded when it is exit or exit_group. */
static __always_inline void set_exit_call(struct who *t) {
    const void *regs = (void *)bpf_task_pt_regs(task_btf());
    s64 nr = (s64)reg_arg(regs, OFF_PT_REGS_NR);
    u32 abi = abi_of(t);
    if (abi ? nr == COMPAT_NR_EXIT || nr == COMPAT_NR_EXIT_GROUP : nr == NR_EXIT || nr == NR_EXIT_GROUP)
        set_nr(t, abi, nr);
}
/* Whether the sys_exit program has more to record for native syscall nr than its number (WANT_0..7:
 * a bit per number; none for a number out of the bitmaps' range). */
static __always_inline u64 wanted(s64 nr) {
    if ((u64)nr >= NR_WORDS * 64) return 0;
    u64 w = (u64)nr >> 6, m = w == 0 ? WANT_0 : w == 1 ? WANT_1 : w == 2 ? WANT_2 : w == 3 ? WANT_3 :
                               w == 4 ? WANT_4 : w == 5 ? WANT_5 : w == 6 ? WANT_6 : WANT_7;
    return (m >> (nr & 63)) & 1;
}

/* ---------------- fork tree, task lifetime, cgroup moves ---------------- */
TRACEPOINT_PROBE(sched, sched_process_fork) {
    u32 ptgid = bpf_get_current_pid_tgid() >> 32;
    u32 *v = tree.lookup(&ptgid);
    if (v) {
        u32 child = args->child_pid, id = *v;
        if (tree.update(&child, &id)) count(C_MAP_FULL);
    }
    return 0;
}
TRACEPOINT_PROBE(sched, sched_process_exit) {
    bump_gen();   /* the task's stack (classify_at's key) is freed after this */
    struct who *t = classify();
    if (t) set_exit_call(t);
    u64 pt = bpf_get_current_pid_tgid();
    u32 tid = pt;
    tree.delete(&tid);
    if (tid != (u32)(pt >> 32)) return 0;
    u32 *inum = mnt_anchor.lookup(&tid);
    if (inum) {                 /* the namespace's anchor died: its inode may be reused */
        u32 m = *inum;
        mnt_targets.delete(&m);
        mnt_anchor.delete(&tid);
    }
    return 0;
}
/* A freed task_struct may come back as another task: no cached answer may outlive it. */
TRACEPOINT_PROBE(sched, sched_process_free) { bump_gen(); return 0; }
TRACEPOINT_PROBE(cgroup, cgroup_attach_task) { bump_gen(); return 0; }

/* ---------------- exec: the new mm's exe_file, resolved, and the name executed ----------------
 * For a `#!` script the exe_file is the interpreter and the filename the script: user space
 * tells them apart and records both. */
RAW_TRACEPOINT_PROBE(sched_process_exec) {   /* (task, old pid, struct linux_binprm *) */
    bump_gen();   /* the task has a new name: classify it again (runtime_setup) */
    struct who *t = classify();
    if (!t) return 0;
    void *mm = rdp((char *)t->task + OFF_TASK_MM);
    void *file = mm ? rdp((char *)mm + OFF_MM_EXE_FILE) : 0;
    if (!file) return 0;
    void *vfsmnt = rdp((char *)file + OFF_FILE_PATH + OFF_PATH_MNT);
    void *dentry = rdp((char *)file + OFF_FILE_PATH + OFF_PATH_DENTRY);
    struct event *e = ev_new(EV_EXEC, t);   /* user space dedups execs (script + interpreter) */
    if (!e) return 0;
    const char *filename = rdp((char *)ctx->args[2] + OFF_BPRM_FILENAME);
    bpf_probe_read_kernel_str(e->s1, sizeof(e->s1), filename);
    set_job(0, vfsmnt, dentry);
    if (e->s1[0] == '/') return walk_and_submit(ctx, 1);
    struct event *cwd = ev_at(1, EV_EXEC, t);  /* a relative name: its directory too (a2 = 1) */
    if (!cwd) return walk_and_submit(ctx, 1);
    cwd->a2 = 1;
    bpf_probe_read_kernel_str(cwd->s1, sizeof(cwd->s1), filename);
    void *fs = rdp((char *)t->task + OFF_TASK_FS);
    set_job(1, rdp((char *)fs + OFF_FS_PWD + OFF_PATH_MNT), rdp((char *)fs + OFF_FS_PWD + OFF_PATH_DENTRY));
    return walk_and_submit(ctx, 2);
}

/* ---------------- syscalls: one program on the raw sys_exit tracepoint ----------------
 * It sees every syscall's number and result, with the arguments in the user registers saved at
 * entry. An empty raw sys_exit program costs a syscall what an empty raw sys_enter program does
 * (the floor of any syscall-set tracer); any syscalls:sys_exit_* tracepoint on top of it would
 * cost every syscall on the node ~30 ns more and every traced exit ~150 ns (perf-event dispatch).
 * One hook also puts a call's number and its result in the same run. */
#define ARG(i) reg_arg(regs, OFF_PT_REGS_ARG##i)

/* ---------------- open family: resolve the returned fd ---------------- */
/* The access an open asks for (its flags). */
static __always_inline u32 open_access(s64 nr, const void *regs) {
    u32 flags;
    if (nr == NR_CREAT) flags = 01101;
    else if (nr == NR_OPEN) flags = ARG(1);
    else if (nr == NR_OPENAT2) {
        u64 fl = 0;             /* struct open_how.flags is first */
        read_user(&fl, sizeof(fl), (void *)ARG(2));
        flags = fl;
    } else flags = ARG(2);
    u32 mode = flags & 3;
    u32 acc = (mode == 0 || mode == 2) ? A_READ : 0;
    if (mode == 1 || mode == 2) acc |= (flags & 02000) ? A_APPEND : A_WRITE;
    if (flags & 0100) acc |= A_CREATE;
    if (flags & 01000) acc |= A_WRITE;         /* O_TRUNC */
    return acc;
}

/* ---------------- names: link, unlink, rename (as given, relative to dirfd / cwd) ---------------- */
/* evbuf[i] gets the raw name; a relative one also gets the directory to resolve it against. */
static __always_inline int name_at(u32 i, struct who *t, u32 acc, long dirfd, const char *name) {
    struct event *e = ev_at(i & 1, EV_FILE, t);
    if (!e) return -1;
    e->a0 = acc | A_NAME;
    set_job(i, 0, 0);
    long n = read_user_str(e->s1, sizeof(e->s1), name);
    if (n < 0) return -1;
    if (n == sizeof(e->s1)) {       /* full: is there more of the name? */
        char more = 0;
        read_user(&more, 1, name + sizeof(e->s1) - 1);
        if (more) { e->trunc = 1; count_in(C_TRUNCATED, t->slot); }
    }
    if (e->s1[0] == '/') return 0;  /* user space joins relative names to the directory */
    void *path;
    if ((int)dirfd == AT_FDCWD) {
        void *fs = rdp((char *)t->task + OFF_TASK_FS);
        path = (char *)fs + OFF_FS_PWD;
    } else {
        void *file = fd_file(t, dirfd);
        if (!file) return -1;
        path = (char *)file + OFF_FILE_PATH;
    }
    set_job(i, rdp((char *)path + OFF_PATH_MNT), rdp((char *)path + OFF_PATH_DENTRY));
    return 0;
}
/* Tail-call target P_NAMES: job n names (link, delete, rename, mkdir, ...) as given, with their
 * directory. No kernel dedup for names: user space dedups on the joined path. */
int names_prog(void *ctx) {
    struct job_t *j = job();
    struct who *t = classified();
    if (!j || !t) return 0;
    u32 n = j->n;
    if (name_at(0, t, j->acc[0], j->dirfd[0], (const char *)j->name[0])) return 0;
    if (n > 1 && name_at(1, t, j->acc[1], j->dirfd[1], (const char *)j->name[1])) return 0;
    return walk_and_submit(ctx, n > 1 ? 2 : 1);
}
/* Name i (of n) for names_prog; the caller then tail-calls it with names_call(). */
static __always_inline struct job_t *name_job(u32 i, u32 acc, long dirfd, const char *name) {
    struct job_t *j = job();
    if (!j) return 0;
    j->acc[i & 1] = acc; j->n = i + 1;
    j->dirfd[i & 1] = dirfd; j->name[i & 1] = (u64)name;
    return j;
}
static __always_inline int names_call(void *ctx) {
    progs.call(ctx, P_NAMES);
    return 0;
}
static __always_inline int name_event(void *ctx, u32 acc, long dirfd, u64 name) {
    if (!name_job(0, acc, dirfd, (const char *)name)) return 0;
    return names_call(ctx);
}
static __always_inline int rename_event(void *ctx, long olddfd, u64 oldname, long newdfd, u64 newname) {
    if (!name_job(0, A_RENAME | A_READ, olddfd, (const char *)oldname)) return 0;   /* source: r, w */
    if (!name_job(1, A_RENAME, newdfd, (const char *)newname)) return 0;
    return names_call(ctx);
}
/* ---------------- capabilities (no-audit checks filtered) ----------------
 * The tracepoint has no `opts`: a check is noaudit when a caller on the kernel stack is one of the
 * noaudit functions (ns_capable_noaudit, cap_vm_enough_memory, ...), whose ranges user space
 * writes into `noaudit` from /proc/kallsyms. Only a first occurrence pays for the stack. */
static __always_inline int noaudit_caller(void *ctx) {
    int z = 0;
    struct stack_t *st = stackbuf.lookup(&z);
    if (!st) return 0;
    u64 *frames = st->frames;
    long got = bpf_get_stack(ctx, frames, STACK_FRAMES * 8, 0);
    if (got <= 0) return 0;
    #pragma clang loop unroll(disable)
    for (int r = 0; r < NOAUDIT_RANGES; r++) {
        int k = r;
        struct range_t *range = noaudit.lookup(&k);
        if (!range || !range->start) break;
        #pragma clang loop unroll(disable)
        for (int f = 0; f < STACK_FRAMES; f++)
            if (f * 8 < got && frames[f] >= range->start && frames[f] < range->end) return 1;
    }
    return 0;
}
/* A check made with credentials that are not the task's own: overlayfs runs copy-up (and its other
 * upper-layer work) with the mounter's credentials (ovl_override_creds), so the container runtime's
 * DAC checks on the overlay's work directory happen in the workload's task. AppArmor attributes a
 * check to the label of the credentials checked, i.e. the mounter's, never the workload's profile.
 * (access(2) overrides too, but only for set-id or capability-holding non-root callers.) */
static __always_inline int foreign_cred(struct who *t, const void *cred) {
    return cred != member_ptr(task_of(t), OFF_TASK_REAL_CRED);
}
TRACEPOINT_PROBE(capability, cap_capable) {
    if (args->ret != 0) return 0;     /* denied checks need no rule */
    struct who *t = classify();
    if (!t || foreign_cred(t, args->cred)) return 0;
    u32 cap = args->cap;
    if (seen(t, EV_CAP, cap, 0) || noaudit_caller(args) || !first(t, EV_CAP, cap, 0)) return 0;
    struct event *e = ev_new(EV_CAP, t);
    if (!e) return 0;
    e->a0 = cap;
    submit(args, e);
    return 0;
}

/* ---------------- network, ptrace, mount ---------------- */
static __always_inline int socket_event(void *ctx, struct who *t, u64 family, u64 type, u64 protocol) {
    if (!first(t, EV_SOCKET, (family << 32) | (u32)type, protocol)) return 0;
    struct event *e = ev_new(EV_SOCKET, t);
    if (!e) return 0;
    e->a0 = family; e->a1 = type; e->a2 = protocol;
    submit(ctx, e);
    return 0;
}
static __always_inline int sockaddr_event(void *ctx, struct who *t, u32 type, u64 uaddr, long alen) {
    struct event *e = ev_new(type, t);
    if (!e) return 0;
    e->a0 = alen;
    read_user(e->s1, 128, (void *)uaddr);
    submit(ctx, e);             /* user space dedups on the decoded address */
    return 0;
}
static __always_inline int ptrace_event(void *ctx, struct who *t, s64 request, s64 pid) {
    if (!first(t, EV_PTRACE, request, pid)) return 0;
    struct event *e = ev_new(EV_PTRACE, t);
    if (!e) return 0;
    e->a0 = request; e->a1 = pid; e->a3 = in_tree(t->id, pid);
    submit(ctx, e);
    return 0;
}
/* mount(dev, dir, type, flags) and umount(dir, flags): the raw target, not resolved */
static __always_inline int mount_event(void *ctx, struct who *t, u32 type, u64 dev, u64 dir, u64 fstype,
                                       u64 flags) {
    struct event *e = ev_new(type, t);
    if (!e) return 0;
    e->a0 = flags;
    if (dev) read_user_str(e->s1, sizeof(e->s1), (void *)dev);
    if (fstype) read_user_str(e->s2, sizeof(e->s2), (void *)fstype);
    e->len = read_user_str(e->path, 256, (void *)dir);
    submit(ctx, e);
    return 0;
}

/* The one syscall program, on the raw sys_exit tracepoint: every syscall of a target into its set,
 * then what the syscalls in WANT (program.SYSCALLS) did. A sigreturn restores the registers it
 * returns to and sets the saved syscall number to -1 (so that the kernel does not restart a call):
 * -1 at exit is a sigreturn (for a compat task, sigreturn or rt_sigreturn: both are recorded). */
RAW_TRACEPOINT_PROBE(sys_exit) {
    struct who *t = classify_at(ctx->args[0]);   /* struct pt_regs *: the task's saved registers */
    if (!t) return 0;
    const void *regs = regs_at(ctx->args[0]);
    s64 nr = (s64)reg_arg(regs, OFF_PT_REGS_NR);
    long ret = (long)ctx->args[1];
    u32 abi = abi_of(t);
    if (nr == -1) {
        set_nr(t, abi, abi ? COMPAT_NR_RT_SIGRETURN : NR_RT_SIGRETURN);
        if (abi) set_nr(t, abi, COMPAT_NR_SIGRETURN);
        return 0;
    }
    set_nr(t, abi, nr);
    if (abi || !wanted(nr)) return 0;   /* compat: the set only */
    long fd = -1;     /* a file event: its fd (none: -1) and the access */
    u32 acc = 0;
    if (nr == NR_OPENAT || nr == NR_OPEN || nr == NR_CREAT || nr == NR_OPENAT2) {
        if (ret < 0) return 0;
        fd = ret; acc = open_access(nr, regs);
    } else if (nr == NR_MMAP) { /* mmap(PROT_EXEC, fd) */
        if (!(ARG(2) & 4) || (long)ARG(4) < 0) return 0;
        fd = (long)ARG(4); acc = A_MMAP;
    } else if (nr == NR_FLOCK) {
        fd = (long)ARG(0); acc = A_LOCK;
    } else if (nr == NR_FCNTL) { /* F_SETLK, F_SETLKW, F_OFD_SETLK, F_OFD_SETLKW */
        u64 cmd = ARG(1);
        if (cmd != 6 && cmd != 7 && cmd != 37 && cmd != 38) return 0;
        fd = (long)ARG(0); acc = A_LOCK;
    }
    if (fd >= 0) return fd_event(ctx, t, fd, acc);   /* one call site: fd_event is inlined once */
    if (ret < 0) return 0;   /* a failed call needs no rule */
    if (nr == NR_LINK) return name_event(ctx, A_LINK, AT_FDCWD, ARG(1));
    if (nr == NR_LINKAT) return name_event(ctx, A_LINK, (long)ARG(2), ARG(3));
    if (nr == NR_UNLINK) return name_event(ctx, A_DELETE, AT_FDCWD, ARG(0));
    if (nr == NR_RMDIR) return name_event(ctx, A_DELETE | A_DIR, AT_FDCWD, ARG(0));
    if (nr == NR_MKDIR) return name_event(ctx, A_CREATE | A_DIR, AT_FDCWD, ARG(0));
    if (nr == NR_MKDIRAT) return name_event(ctx, A_CREATE | A_DIR, (long)ARG(0), ARG(1));
    if (nr == NR_MKNOD) return name_event(ctx, A_CREATE, AT_FDCWD, ARG(0));
    if (nr == NR_MKNODAT) return name_event(ctx, A_CREATE, (long)ARG(0), ARG(1));
    if (nr == NR_SYMLINK) return name_event(ctx, A_CREATE, AT_FDCWD, ARG(1));
    if (nr == NR_SYMLINKAT) return name_event(ctx, A_CREATE, (long)ARG(1), ARG(2));
    if (nr == NR_UNLINKAT)      /* AT_REMOVEDIR: rmdir */
        return name_event(ctx, A_DELETE | ((ARG(2) & 0x200) ? A_DIR : 0), (long)ARG(0), ARG(1));
    if (nr == NR_RENAME) return rename_event(ctx, AT_FDCWD, ARG(0), AT_FDCWD, ARG(1));
    if (nr == NR_RENAMEAT || nr == NR_RENAMEAT2)
        return rename_event(ctx, (long)ARG(0), ARG(1), (long)ARG(2), ARG(3));
    if (nr == NR_SOCKET) return socket_event(ctx, t, ARG(0), ARG(1), ARG(2));
    if (nr == NR_CONNECT) return sockaddr_event(ctx, t, EV_CONNECT, ARG(1), (long)ARG(2));
    if (nr == NR_BIND) return sockaddr_event(ctx, t, EV_BIND, ARG(1), (long)ARG(2));
    if (nr == NR_PTRACE) return ptrace_event(ctx, t, (s64)ARG(0), (s64)ARG(1));
    if (nr == NR_MOUNT) return mount_event(ctx, t, EV_MOUNT, ARG(0), ARG(1), ARG(2), ARG(3));
    if (nr == NR_UMOUNT2) return mount_event(ctx, t, EV_UMOUNT, 0, ARG(0), 0, ARG(1));
    return 0;
}

/* ---------------- signals ---------------- */
TRACEPOINT_PROBE(signal, signal_generate) {
    if (args->code > 0) return 0;     /* kernel-generated (SIGCHLD, faults), not sent */
    struct who *t = classify();
    if (!t) return 0;
        if (!first(t, EV_SIGNAL, args->sig, args->pid)) return 0;
    struct event *e = ev_new(EV_SIGNAL, t);
    if (!e) return 0;
    e->a0 = args->sig; e->a1 = args->pid; e->a2 = args->result; e->a3 = in_tree(t->id, args->pid);
    bpf_probe_read_kernel(e->s2, 16, args->comm);
    submit(args, e);
    return 0;
}

