// Memory bandwidth probe: 2 threads, each streams a 256 MB array (read a, write b: b = a * s), best of 5 passes.
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <time.h>
#define N (32L*1024*1024)  /* doubles per thread: 256 MB */
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
typedef struct {double *a,*b; double best;} W;
static pthread_barrier_t bar;
static void* run(void* p){W* w=p; double*a=w->a,*b=w->b; for(long i=0;i<N;i++){a[i]=i;b[i]=0;}
 w->best=1e9; for(int r=0;r<5;r++){pthread_barrier_wait(&bar); double t=now(); for(long i=0;i<N;i++) b[i]=1.0001*a[i]; t=now()-t; if(t<w->best)w->best=t;} return 0;}
int main(){pthread_t th[2]; W w[2]; pthread_barrier_init(&bar,0,2);
 for(int i=0;i<2;i++){w[i].a=malloc(N*8);w[i].b=malloc(N*8);pthread_create(&th[i],0,run,&w[i]);}
 for(int i=0;i<2;i++)pthread_join(th[i],0);
 double gb=2.0*N*8*2/1e9; double t=w[0].best>w[1].best?w[0].best:w[1].best;
 printf("bw_GBps=%.2f (2 threads, read+write %.1f GB per pass, best of 5)\n", gb/t, gb); return 0;}
