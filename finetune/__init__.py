"""Fine-tuning: offline work the CLI runs, beside the evaluations; the service never imports it.

The answer model's loop (logged good answers -> chat JSONL -> a job on any OpenAI-compatible fine-tuning API:
``dataset``, ``source``, ``validate``, ``jobs``, ``records``) and the retriever's (question and passage pairs -> a
fine-tuned embedding model on the CPU: ``embeddings``, which needs the ``train`` extra).
"""
