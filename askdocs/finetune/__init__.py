"""The fine-tuning loop: logged good answers -> chat JSONL -> a fine-tuning job on any OpenAI-compatible API."""
