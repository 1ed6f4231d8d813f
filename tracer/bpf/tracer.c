/* varmor-py node tracer: what the targeted containers do, first occurrences only.
 *
 * Tracepoints and raw tracepoints only. No kernel #include: every struct offset (OFF_*) and
 * syscall number (NR_*) comes from BTF / the syscall table as a -D flag (tracer/program.py).
 *
 * Attribution: cgroup-v2 id first (catches processes that join later, like `kubectl exec`),
 * then mount namespace (only when such targets exist; entries die with their anchor process,
 * because namespace inodes are reused at once), then the fork tree (targets added by pid).
 * The fork tree also tells the container's own processes (origin "container") from processes
 * that joined the cgroup later (origin "exec").
 *
 * Per target, the syscall set is a per-CPU bitmap read by user space; everything else goes
 * through an LRU first-occurrence filter and then the perf buffer. Losses are counted.
 */
#define PBUF 4096
#define PMASK (PBUF - 1)
#define MAX_DEPTH 40
#define MAXT 64
#define NR_WORDS 8            /* 8 x 64 = 512 syscall numbers */
#define KSTACK_SIZE 16384
#define AT_FDCWD -100

enum { EV_EXEC = 1, EV_FILE, EV_CAP, EV_SOCKET, EV_CONNECT, EV_BIND, EV_PTRACE, EV_SIGNAL,
       EV_MOUNT, EV_UMOUNT };
/* file access bits (user space maps them to schema access classes) */
enum { A_READ = 1, A_WRITE = 2, A_APPEND = 4, A_CREATE = 8, A_MMAP = 16, A_LINK = 32, A_LOCK = 64 };
enum { C_MAP_FULL = 0, C_TRUNCATED = 1, C_NR_RANGE = 2, C_NCOUNTERS = 4 };
enum { CFG_MNT = 1, CFG_TREE = 2 };

struct tgt { u32 id; u32 slot; };
struct event {
    u32 type; u32 pid; u32 id; u32 origin;     /* origin: 1 container tree, 0 joined later */
    s64 a0, a1, a2, a3;
    u32 len; u32 trunc;
    char comm[16];
    char s2[64];
    char s1[256];
    char path[PBUF];
};
struct pbuf_t { char b[PBUF * 2]; };
struct dkey_t { u64 k1; u64 k2; u32 id; u16 type; u16 origin; };
struct oargs_t { u64 fname; u32 flags; u32 pad; };

BPF_PERCPU_ARRAY(evbuf, struct event, 1);
BPF_PERCPU_ARRAY(pbuf, struct pbuf_t, 1);
BPF_PERF_OUTPUT(events);
BPF_HASH(cg_targets, u64, struct tgt, 1024);
BPF_HASH(mnt_targets, u32, struct tgt, 1024);
BPF_HASH(mnt_anchor, u32, u32, 1024);          /* anchor tgid -> mnt ns inode */
BPF_HASH(pid_targets, u32, struct tgt, 1024);  /* target id -> target, attributed by tree */
BPF_HASH(tree, u32, u32, 65536);               /* tgid -> target id (container's own tree) */
BPF_ARRAY(cfg, u32, 1);
BPF_ARRAY(counters, u64, C_NCOUNTERS);
BPF_PERCPU_ARRAY(sysbits, u64, MAXT * NR_WORDS);
BPF_TABLE("lru_hash", struct dkey_t, u8, dedup, 65536);
BPF_HASH(open_args, u64, struct oargs_t, 10240);

static __always_inline void *rdp(void *p) { void *v = 0; bpf_probe_read_kernel(&v, sizeof(v), p); return v; }

static __always_inline void count(u32 which) {
    u64 *c = counters.lookup(&which);
    if (c) __sync_fetch_and_add(c, 1);
}

static __always_inline u32 cur_mntns(void) {
    void *task = (void *)bpf_get_current_task();
    void *nsp = rdp((char *)task + OFF_TASK_NSPROXY);
    void *mnt = nsp ? rdp((char *)nsp + OFF_NSPROXY_MNTNS) : 0;
    u32 inum = 0;
    if (mnt) bpf_probe_read_kernel(&inum, sizeof(inum), (char *)mnt + OFF_MNTNS_INUM);
    return inum;
}

/* The target of the current task, or 0. Cheap path: one hash lookup on the cgroup id. */
static __always_inline struct tgt *classify(void) {
    u64 cg = bpf_get_current_cgroup_id();
    struct tgt *t = cg_targets.lookup(&cg);
    if (t) return t;
    int z = 0;
    u32 *flags = cfg.lookup(&z);
    if (!flags || !*flags) return 0;
    if (*flags & CFG_MNT) {
        u32 m = cur_mntns();
        t = mnt_targets.lookup(&m);
        if (t) return t;
    }
    if (*flags & CFG_TREE) {
        u32 tgid = bpf_get_current_pid_tgid() >> 32;
        u32 *id = tree.lookup(&tgid);
        if (id) return pid_targets.lookup(id);
    }
    return 0;
}

static __always_inline u32 origin_of(u32 id) {
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    u32 *v = tree.lookup(&tgid);
    return v && *v == id;
}

static __always_inline u32 in_tree(u32 id, u32 pid) {
    u32 *v = tree.lookup(&pid);
    return v && *v == id;
}

static __always_inline int first(struct tgt *t, u32 origin, u16 type, u64 k1, u64 k2) {
    struct dkey_t k = {.k1 = k1, .k2 = k2, .id = t->id, .type = type, .origin = origin};
    u8 one = 1;
    if (dedup.lookup(&k)) return 0;
    if (dedup.update(&k, &one)) count(C_MAP_FULL);
    return 1;
}

static __always_inline struct event *ev_new(u32 type, struct tgt *t, u32 origin) {
    int z = 0;
    struct event *e = evbuf.lookup(&z);
    if (!e) return 0;
    e->type = type; e->id = t->id; e->origin = origin;
    e->pid = bpf_get_current_pid_tgid() >> 32;
    e->a0 = e->a1 = e->a2 = e->a3 = 0; e->len = 0; e->trunc = 0;
    e->s1[0] = 0; e->s2[0] = 0; e->path[0] = 0;
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    return e;
}

static __always_inline void submit(void *ctx, struct event *e) {
    u32 n = e->len;
    u32 size = offsetof(struct event, path) + (n & PMASK) + 1;
    if (size > sizeof(*e)) size = sizeof(*e);
    events.perf_submit(ctx, e, size);
}

/* d_path-like walk up to the mount-namespace root, right-aligned into a per-CPU buffer, then
 * copied into e->path. Paths deeper than MAX_DEPTH components are flagged as truncated. */
static __always_inline void path_of(struct event *e, void *vfsmnt, void *dentry) {
    int z = 0;
    struct pbuf_t *pb = pbuf.lookup(&z);
    if (!pb || !vfsmnt || !dentry) return;
    char *buf = pb->b;
    int off = PBUF;
    void *mnt = (char *)vfsmnt - OFF_MOUNT_MNT;
    u32 trunc = 1;
    #pragma unroll
    for (int i = 0; i < MAX_DEPTH; i++) {
        void *mnt_root = rdp((char *)vfsmnt + OFF_VFSMOUNT_ROOT);
        void *parent = rdp((char *)dentry + OFF_DENTRY_PARENT);
        if (dentry == mnt_root || dentry == parent) {
            void *mparent = rdp((char *)mnt + OFF_MOUNT_PARENT);
            if (dentry != mnt_root || mparent == mnt) { trunc = 0; break; }
            dentry = rdp((char *)mnt + OFF_MOUNT_MOUNTPOINT);
            mnt = mparent;
            vfsmnt = (char *)mnt + OFF_MOUNT_MNT;
            continue;
        }
        u32 len = 0;
        bpf_probe_read_kernel(&len, sizeof(len), (char *)dentry + OFF_DENTRY_NAME + 4);
        const char *name = rdp((char *)dentry + OFF_DENTRY_NAME + 8);
        len &= 255;
        if (off - (int)len - 1 < 0) break;
        off -= len + 1;
        buf[off & PMASK] = '/';
        u64 l = len;
        asm volatile("%[l] &= 0xff" : [l]"+r"(l));
        bpf_probe_read_kernel(&buf[(off + 1) & PMASK], l, name);
        dentry = parent;
    }
    if (off == PBUF) { off--; buf[off & PMASK] = '/'; }
    u32 n = PBUF - off;
    e->len = n; e->trunc = trunc;
    if (trunc) count(C_TRUNCATED);
    bpf_probe_read_kernel(e->path, n & PMASK, &buf[off & PMASK]);
}

static __always_inline void *fd_file(long fd) {
    void *task = (void *)bpf_get_current_task();
    void *files = rdp((char *)task + OFF_TASK_FILES);
    void *fdt = rdp((char *)files + OFF_FILES_FDT);
    u32 max = 0;
    bpf_probe_read_kernel(&max, sizeof(max), (char *)fdt + OFF_FDT_MAXFDS);
    if (fd < 0 || fd >= max) return 0;
    void *arr = rdp((char *)fdt + OFF_FDT_FD);
    return rdp((char *)arr + fd * 8);
}

/* Emit a file event for (vfsmount, dentry) with access bits, once per target/origin/access. */
static __always_inline int file_event(void *ctx, struct tgt *t, void *vfsmnt, void *dentry, u32 acc) {
    u32 origin = origin_of(t->id);
    if (!first(t, origin, EV_FILE | (acc << 4), (u64)dentry, (u64)vfsmnt)) return 0;
    struct event *e = ev_new(EV_FILE, t, origin);
    if (!e) return 0;
    e->a0 = acc;
    path_of(e, vfsmnt, dentry);
    submit(ctx, e);
    return 0;
}

static __always_inline int fd_event(void *ctx, long fd, u32 acc) {
    struct tgt *t = classify();
    if (!t) return 0;
    void *file = fd_file(fd);
    if (!file) return 0;
    return file_event(ctx, t, rdp((char *)file + OFF_FILE_PATH + OFF_PATH_MNT),
                      rdp((char *)file + OFF_FILE_PATH + OFF_PATH_DENTRY), acc);
}

/* ---------------- fork tree ---------------- */
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

/* ---------------- syscall set ---------------- */
RAW_TRACEPOINT_PROBE(sys_enter) {
    struct tgt *t = classify();
    if (!t) return 0;
    u32 nr = ctx->args[1];
    if (nr >= NR_WORDS * 64) { count(C_NR_RANGE); return 0; }
    u32 slot = (t->slot % MAXT) * NR_WORDS + nr / 64;
    u64 *w = sysbits.lookup(&slot);
    if (w) *w |= (1ULL << (nr % 64));
    return 0;
}

/* ---------------- exec: bprm->file resolved path ---------------- */
RAW_TRACEPOINT_PROBE(sched_process_exec) {
    struct tgt *t = classify();
    if (!t) return 0;
    void *bprm = (void *)ctx->args[2];
    void *file = rdp((char *)bprm + OFF_BPRM_FILE);
    if (!file) return 0;
    void *vfsmnt = rdp((char *)file + OFF_FILE_PATH + OFF_PATH_MNT);
    void *dentry = rdp((char *)file + OFF_FILE_PATH + OFF_PATH_DENTRY);
    u32 origin = origin_of(t->id);
    if (!first(t, origin, EV_EXEC, (u64)dentry, (u64)vfsmnt)) return 0;
    struct event *e = ev_new(EV_EXEC, t, origin);
    if (!e) return 0;
    bpf_probe_read_kernel_str(e->s1, sizeof(e->s1), rdp((char *)bprm + OFF_BPRM_FILENAME));
    path_of(e, vfsmnt, dentry);
    submit(ctx, e);
    return 0;
}

/* ---------------- open family: resolve the returned fd ---------------- */
static __always_inline int open_enter(const char *fname, u32 flags) {
    if (!classify()) return 0;
    u64 id = bpf_get_current_pid_tgid();
    struct oargs_t a = {.fname = (u64)fname, .flags = flags};
    if (open_args.update(&id, &a)) count(C_MAP_FULL);
    return 0;
}
static __always_inline int open_exit(void *ctx, long ret) {
    u64 id = bpf_get_current_pid_tgid();
    struct oargs_t *a = open_args.lookup(&id);
    if (!a) return 0;
    u32 flags = a->flags;
    open_args.delete(&id);
    if (ret < 0) return 0;
    u32 mode = flags & 3;
    u32 acc = (mode == 0 || mode == 2) ? A_READ : 0;
    if (mode == 1 || mode == 2) acc |= (flags & 02000) ? A_APPEND : A_WRITE;
    if (flags & 0100) acc |= A_CREATE;
    if (flags & 01000) acc |= A_WRITE;         /* O_TRUNC */
    return fd_event(ctx, ret, acc);
}
TRACEPOINT_PROBE(syscalls, sys_enter_openat) { return open_enter(args->filename, args->flags); }
TRACEPOINT_PROBE(syscalls, sys_exit_openat)  { return open_exit(args, args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_open)   { return open_enter(args->filename, args->flags); }
TRACEPOINT_PROBE(syscalls, sys_exit_open)    { return open_exit(args, args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_creat)  { return open_enter(args->pathname, 01101); }
TRACEPOINT_PROBE(syscalls, sys_exit_creat)   { return open_exit(args, args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_openat2) {
    u64 fl = 0;
    bpf_probe_read_user(&fl, sizeof(fl), args->how);   /* struct open_how.flags is first */
    return open_enter(args->filename, (u32)fl);
}
TRACEPOINT_PROBE(syscalls, sys_exit_openat2) { return open_exit(args, args->ret); }

/* mmap(PROT_EXEC, fd), flock and POSIX locks, link: resolved through the fd / cwd */
TRACEPOINT_PROBE(syscalls, sys_enter_mmap) {
    if (!(args->prot & 4) || (long)args->fd < 0) return 0;
    return fd_event(args, args->fd, A_MMAP);
}
TRACEPOINT_PROBE(syscalls, sys_enter_flock) { return fd_event(args, args->fd, A_LOCK); }
TRACEPOINT_PROBE(syscalls, sys_enter_fcntl) {
    u32 cmd = args->cmd;       /* F_SETLK, F_SETLKW, F_OFD_SETLK, F_OFD_SETLKW */
    if (cmd != 6 && cmd != 7 && cmd != 37 && cmd != 38) return 0;
    return fd_event(args, args->fd, A_LOCK);
}
static __always_inline int link_event(void *ctx, long dirfd, const char *newname) {
    struct tgt *t = classify();
    if (!t) return 0;
    u32 origin = origin_of(t->id);
    struct event *e = ev_new(EV_FILE, t, origin);
    if (!e) return 0;
    e->a0 = A_LINK;
    bpf_probe_read_user_str(e->s1, sizeof(e->s1), newname);
    if (e->s1[0] != '/') {      /* relative: user space joins it to the directory's path */
        void *task = (void *)bpf_get_current_task();
        void *vfsmnt, *dentry;
        if ((int)dirfd == AT_FDCWD) {
            void *fs = rdp((char *)task + OFF_TASK_FS);
            vfsmnt = rdp((char *)fs + OFF_FS_PWD + OFF_PATH_MNT);
            dentry = rdp((char *)fs + OFF_FS_PWD + OFF_PATH_DENTRY);
        } else {
            void *file = fd_file(dirfd);
            if (!file) return 0;
            vfsmnt = rdp((char *)file + OFF_FILE_PATH + OFF_PATH_MNT);
            dentry = rdp((char *)file + OFF_FILE_PATH + OFF_PATH_DENTRY);
        }
        path_of(e, vfsmnt, dentry);
    }
    submit(ctx, e);             /* no kernel dedup: user space dedups on the joined path */
    return 0;
}
TRACEPOINT_PROBE(syscalls, sys_enter_link)    { return link_event(args, AT_FDCWD, args->newname); }
TRACEPOINT_PROBE(syscalls, sys_enter_linkat)  { return link_event(args, args->newdfd, args->newname); }

/* ---------------- capabilities (no-audit checks filtered) ---------------- */
static __always_inline u32 cur_syscall(void) {
    void *task = (void *)bpf_get_current_task();
    char *stack = rdp((char *)task + OFF_TASK_STACK);
    s64 nr = -1;
    bpf_probe_read_kernel(&nr, sizeof(nr), stack + KSTACK_SIZE - SIZEOF_PT_REGS + OFF_PT_REGS_NR);
    return (u32)nr;
}
TRACEPOINT_PROBE(capability, cap_capable) {
    if (args->ret != 0) return 0;     /* denied checks need no rule */
    struct tgt *t = classify();
    if (!t) return 0;
    u32 cap = args->cap;
    if (cap == 21) {                  /* __vm_enough_memory's no-audit CAP_SYS_ADMIN */
        u32 nr = cur_syscall();
        if (nr == NR_MMAP || nr == NR_BRK || nr == NR_MREMAP || nr == NR_MPROTECT ||
            nr == NR_SHMAT || nr == NR_EXECVE || nr == NR_EXECVEAT || nr == NR_MUNMAP)
            return 0;
    }
    u32 origin = origin_of(t->id);
    if (!first(t, origin, EV_CAP, cap, 0)) return 0;
    struct event *e = ev_new(EV_CAP, t, origin);
    if (!e) return 0;
    e->a0 = cap;
    submit(args, e);
    return 0;
}

/* ---------------- network ---------------- */
TRACEPOINT_PROBE(syscalls, sys_enter_socket) {
    struct tgt *t = classify();
    if (!t) return 0;
    u32 origin = origin_of(t->id);
    if (!first(t, origin, EV_SOCKET, ((u64)args->family << 32) | (u32)args->type, args->protocol)) return 0;
    struct event *e = ev_new(EV_SOCKET, t, origin);
    if (!e) return 0;
    e->a0 = args->family; e->a1 = args->type; e->a2 = args->protocol;
    submit(args, e);
    return 0;
}
static __always_inline int sockaddr_event(void *ctx, u32 type, void *uaddr, long alen) {
    struct tgt *t = classify();
    if (!t) return 0;
    struct event *e = ev_new(type, t, origin_of(t->id));
    if (!e) return 0;
    e->a0 = alen;
    bpf_probe_read_user(e->s1, 128, uaddr);
    submit(ctx, e);             /* user space dedups on the decoded address */
    return 0;
}
TRACEPOINT_PROBE(syscalls, sys_enter_connect) { return sockaddr_event(args, EV_CONNECT, args->uservaddr, args->addrlen); }
TRACEPOINT_PROBE(syscalls, sys_enter_bind)    { return sockaddr_event(args, EV_BIND, args->umyaddr, args->addrlen); }

/* ---------------- ptrace, signals ---------------- */
TRACEPOINT_PROBE(syscalls, sys_enter_ptrace) {
    struct tgt *t = classify();
    if (!t) return 0;
    u32 origin = origin_of(t->id);
    if (!first(t, origin, EV_PTRACE, args->request, args->pid)) return 0;
    struct event *e = ev_new(EV_PTRACE, t, origin);
    if (!e) return 0;
    e->a0 = args->request; e->a1 = args->pid; e->a3 = in_tree(t->id, args->pid);
    submit(args, e);
    return 0;
}
TRACEPOINT_PROBE(signal, signal_generate) {
    if (args->code > 0) return 0;     /* kernel-generated (SIGCHLD, faults), not sent */
    struct tgt *t = classify();
    if (!t) return 0;
    u32 origin = origin_of(t->id);
    if (!first(t, origin, EV_SIGNAL, args->sig, args->pid)) return 0;
    struct event *e = ev_new(EV_SIGNAL, t, origin);
    if (!e) return 0;
    e->a0 = args->sig; e->a1 = args->pid; e->a2 = args->result; e->a3 = in_tree(t->id, args->pid);
    bpf_probe_read_kernel(e->s2, 16, args->comm);
    submit(args, e);
    return 0;
}

/* ---------------- mount / umount ---------------- */
TRACEPOINT_PROBE(syscalls, sys_enter_mount) {
    struct tgt *t = classify();
    if (!t) return 0;
    struct event *e = ev_new(EV_MOUNT, t, origin_of(t->id));
    if (!e) return 0;
    e->a0 = args->flags;
    bpf_probe_read_user_str(e->s1, sizeof(e->s1), args->dev_name);
    bpf_probe_read_user_str(e->s2, sizeof(e->s2), args->type);
    e->len = bpf_probe_read_user_str(e->path, 256, args->dir_name);
    submit(args, e);
    return 0;
}
TRACEPOINT_PROBE(syscalls, sys_enter_umount) {
    struct tgt *t = classify();
    if (!t) return 0;
    struct event *e = ev_new(EV_UMOUNT, t, origin_of(t->id));
    if (!e) return 0;
    e->a0 = args->flags;
    e->len = bpf_probe_read_user_str(e->path, 256, args->name);
    submit(args, e);
    return 0;
}
