// FMA throughput per thread: 16 independent 512-bit FMA chains; threads pinned to cpus 0..T-1.
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static long ITERS=200000000/16;
typedef struct{int cpu; double gflops; float sink;} A;
static pthread_barrier_t bar;
static void* run(void*p){A*a=p; cpu_set_t s; CPU_ZERO(&s); CPU_SET(a->cpu,&s); sched_setaffinity(0,sizeof s,&s);
 __m512 x[16]; for(int i=0;i<16;i++) x[i]=_mm512_set1_ps(1.0f+i*1e-7f);
 __m512 m=_mm512_set1_ps(0.9999999f), c=_mm512_set1_ps(1e-7f);
 pthread_barrier_wait(&bar); double t=now();
 for(long k=0;k<ITERS;k++){
 #pragma GCC unroll 16
   for(int i=0;i<16;i++) x[i]=_mm512_fmadd_ps(x[i],m,c);
 }
 t=now()-t; a->gflops=ITERS*16.0*32/t/1e9; float s2=0; for(int i=0;i<16;i++) s2+=_mm512_reduce_add_ps(x[i]); a->sink=s2; return 0;}
int main(int argc,char**argv){int T=atoi(argv[1]); pthread_t th[2]; A a[2]; pthread_barrier_init(&bar,0,T);
 for(int i=0;i<T;i++){a[i].cpu=i; pthread_create(&th[i],0,run,&a[i]);} for(int i=0;i<T;i++) pthread_join(th[i],0);
 printf("threads=%d",T); for(int i=0;i<T;i++) printf(" cpu%d=%.1fGFLOPs",i,a[i].gflops); printf("\n"); return 0;}
