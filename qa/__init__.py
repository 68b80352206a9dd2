"""article-qa: extractive question answering over news articles, offline on a CPU."""
