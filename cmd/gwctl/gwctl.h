/*
 * gwctl.h -- gwctl, the administration tool of a gw node: it talks to the
 * node's processes over the Unix-domain sockets of the run directory
 * (PROTOCOL.md section 5, man/gwctl.8).
 *
 * Output goes through out.c: an aligned table on a terminal, one JSON
 * object per line otherwise.  Sockets go through sock.c: blocking I/O
 * with poll() and a timeout, which is all a command-line tool needs.
 */
#ifndef GW_GWCTL_H
#define GW_GWCTL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ipc.h"

#define GWCTL_TIMEOUT	5000	/* ms to wait for any answer */
#define GWCTL_MAXCHAN	200	/* bytes of a channel name */
#define GWCTL_MAXUSER	128	/* bytes of a user id */
#define GWCTL_MAXDATA	(1024 * 1024)	/* bytes of a published value */

/* Exit statuses. */
#define EX_FAIL		1	/* the operation failed */
#define EX_USAGE	2	/* bad usage */

/* The global options. */
struct gwctl {
	const char	*g_rundir;
	const char	*g_secret;	/* secret_file of the config, or NULL */
	int		 g_json;	/* 1: NDJSON, 0: table */
	volatile int	 g_stop;	/* SIGINT or SIGTERM seen */
};

extern struct gwctl	 gc;

/* A command: its name, its function (argc and argv from its name on). */
struct cmd {
	const char	*c_name;
	int		(*c_fn)(int, char *[]);
	const char	*c_args;	/* its synopsis after the name */
};

/* A column of a table: the key of each row object and its title. */
struct col {
	const char	*c_key;
	const char	*c_title;
	int		 c_flags;
};
#define COL_TIME	0x1	/* milliseconds since the epoch */
#define COL_RIGHT	0x2	/* numbers: aligned right */
#define COL_PAIRS	0x4	/* an object shown as key=value,... */
#define COL_SECS	0x8	/* seconds since the epoch */
#define COL_WHOLE	0x10	/* never cut (a token to copy) */
#define COL_LIST	0x20	/* an array of names shown as a,b,... */

/* A connection to one of the node's sockets. */
struct sock {
	int		 s_fd;
	char		 s_path[PATH_MAX];
	const char	*s_what;	/* "gw-bridge", ... */
	uint8_t		*s_buf;
	size_t		 s_len;		/* bytes in s_buf */
	size_t		 s_used;	/* of them, already returned */
	size_t		 s_cap;
	uint32_t	 s_id;		/* the last request id */
};

extern const struct cmd	cmds[];

/* main.c */
__attribute__((noreturn)) void	 cmd_usage(const char *);
int		 cmd_channel_ok(const char *);
unsigned long long cmd_num(const char *, const char *, unsigned long long,
		    unsigned long long);
void		 cmd_path(char *, size_t, const char *);
void		 cmd_signals(void);

/* complete.c */
int		 cmd_complete(int, char *[]);

/* out.c */
struct out	*out_new(const struct col *);
void		 out_row(struct out *, json_t *);
int		 out_end(struct out *);
void		 out_line(json_t *);
void		 out_flush(void);

/* sock.c */
int		 sock_open(struct sock *, const char *, const char *, int);
void		 sock_whose_path(const char *);
void		 sock_close(struct sock *);
int		 sock_send(struct sock *, struct ipc_msg *);
int		 sock_recv(struct sock *, struct gw_msg_hdr *, struct ipc_rd *,
		    int);
int		 sock_reply(struct sock *, uint32_t, struct gw_msg_hdr *,
		    struct ipc_rd *);
json_t		*sock_ctl(struct sock *, json_t *);
uint32_t	 sock_next_id(struct sock *);
extern int	 sock_watch_stdout;

/* msg.c */
int		 cmd_publish(int, char *[]);
int		 cmd_send(int, char *[]);
int		 cmd_history(int, char *[]);
int		 cmd_tail(int, char *[]);

/* node.c */
json_t		*node_gather(json_t *, int *);
int		 cmd_presence(int, char *[]);
int		 cmd_channels(int, char *[]);
int		 cmd_conns(int, char *[]);
int		 cmd_kick(int, char *[]);
int		 cmd_stats(int, char *[]);
int		 cmd_status(int, char *[]);

/* token.c */
int		 cmd_token(int, char *[]);

#endif
