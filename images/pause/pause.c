/*
 * The pause image's binary: the process that holds a Pod's namespaces (the sandbox container).
 * Written here with the behaviour of upstream Kubernetes' build/pause/linux/pause.c: it warns
 * when it is not PID 1, exits 0 on SIGINT and SIGTERM, reaps every child reparented to it
 * (SIGCHLD), and otherwise sleeps.
 * `pause -v` prints its version and exits. Linked statically: the image holds nothing else.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define VERSION "bosun-pause 3.10"

static void sigdown(int signo) {
  psignal(signo, "Shutting down, got signal");
  _exit(0);
}

static void sigreap(int signo) {
  (void)signo;
  while (waitpid(-1, NULL, WNOHANG) > 0)
    ;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; ++i) {
    if (!strcasecmp(argv[i], "-v")) {
      printf("%s\n", VERSION);
      return 0;
    }
  }
  if (getpid() != 1)
    fprintf(stderr, "Warning: pause should be the first process\n");

  struct sigaction down = {.sa_handler = sigdown};
  if (sigaction(SIGINT, &down, NULL) < 0) return 1;
  if (sigaction(SIGTERM, &down, NULL) < 0) return 2;
  struct sigaction reap = {.sa_handler = sigreap, .sa_flags = SA_NOCLDSTOP};
  if (sigaction(SIGCHLD, &reap, NULL) < 0) return 3;

  for (;;)
    pause();
  fprintf(stderr, "Error: infinite loop terminated\n");
  return 42;
}
