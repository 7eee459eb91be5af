/**
 * Loads every module that defines pool kernels, so a worker thread (worker.ts) can find each one
 * by name. A module that calls `defineKernel` must be imported here.
 */
import "./als";
import "./cholesky";
import "./ease";
import "./sparse";
import "../topk";
