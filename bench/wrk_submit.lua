-- wrk: POST /api/generate with a JSON body (the Cookie header comes from -H).
-- Keep the body in step with SUBMIT_BODY in bench/bench_api.py.
wrk.method = "POST"
wrk.body = '{"prompt": "bench: sustained submits", "duration": 30}'
wrk.headers["Content-Type"] = "application/json"
