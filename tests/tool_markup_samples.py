"""One get_weather(city=Paris) call per markup family, as each engine's own parser accepts it
(the regexes cited in conformance/inputs/tool_markup.yaml), with the template lines that
identify the family. Shared by the grammar tests and the recorded-exchange tests."""

# family -> (an excerpt of the family's chat template, holding its markers)
TEMPLATES = {
    "hermes": "{{- '<tool_call>\\n{\"name\": \"' }}{{ tool_call.name }}{{- '\", \"arguments\": ' }}"
              "{{ tool_call.arguments | tojson }}{{- '}\\n</tool_call>' }}",
    "qwen3_coder": "{{- '<tool_call>\\n<function=' + tool_call.name + '>\\n' }}{%- for k, v in args %}"
                   "{{- '<parameter=' + k + '>\\n' }}{{ v }}{{- '\\n</parameter>\\n' }}{%- endfor %}"
                   "{{- '</function>\\n</tool_call>' }}",
    "glm45": "{{ '<tool_call>' + tc.name }}{% for k, v in tc.arguments.items() %}\n<arg_key>{{ k }}</arg_key>\n"
             "<arg_value>{{ v }}</arg_value>{% endfor %}\n</tool_call>",
    "mistral": "{{- '[TOOL_CALLS] [' }}{%- for tool_call in message.tool_calls %}{{ tool_call | tojson }}"
               "{%- endfor %}{{- ']' + eos_token }}",
    "llama3_json": "{{- '<|start_header_id|>ipython<|end_header_id|>\\n\\n' }}{{- '{\"name\": \"' + tool_call.name + "
                   "'\", ' }}{{- '\"parameters\": ' }}{{- tool_call.arguments | tojson }}",
    "deepseek_v3": "{{'<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + "
                   "tool['function']['name'] + '\\n' + '```json' + '\\n' + tool['function']['arguments'] + '\\n' + '```' "
                   "+ '<｜tool▁call▁end｜>'}}",
    "deepseek_v31": "{{'<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>'+ tool['function']['name'] + '<｜tool▁sep｜>' + "
                    "tool['function']['arguments'] + '<｜tool▁call▁end｜>'}}",
    "kimi_k2": "{{- '<|tool_calls_section_begin|>' -}}{%- for tool_call in message['tool_calls'] -%}"
               "<|tool_call_begin|>{{ tool_call['id'] }}<|tool_call_argument_begin|>{{ args }}<|tool_call_end|>"
               "{%- endfor -%}<|tool_calls_section_end|>",
    "gpt_oss": "{{- '<|start|>assistant<|channel|>commentary to=functions.' + tool_call.name }}"
               "{{- ' <|constrain|>json<|message|>' + tool_call.arguments|tojson + '<|call|>' }}",
    "llama4_pythonic": "{{- '<|header_start|>ipython<|header_end|>\\n\\n' }}",
}

# family -> texts of a correct call get_weather({"city": "Paris"}), with the text before it
CORRECT = {
    "hermes": ['<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'],
    "qwen3_coder": ["<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>"],
    "glm45": ["<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n</tool_call>"],
    "mistral": ['[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}}]',
                '[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}'],
    "llama3_json": ['<|python_tag|>{"name": "get_weather", "parameters": {"city": "Paris"}}',
                    '{"name": "get_weather", "parameters": {"city": "Paris"}}'],
    "deepseek_v3": ["<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n"
                    '{"city": "Paris"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>'],
    "deepseek_v31": ['<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{"city": "Paris"}'
                     "<｜tool▁call▁end｜><｜tool▁calls▁end｜>"],
    "kimi_k2": ["<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>"
                '{"city": "Paris"}<|tool_call_end|><|tool_calls_section_end|>'],
    "gpt_oss": ['<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city": "Paris"}<|call|>',
                '<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>'
                '{"city": "Paris"}<|call|>'],
}


def wrong(text: str, how: str) -> str:
    """The same markup calling another function (the right name still a substring, so only the
    grammar tells) or with other arguments."""
    if how == "name":
        return text.replace("get_weather", "get_weather_now")
    return text.replace("Paris", "Paris, Texas")
