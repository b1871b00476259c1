"""`baraza simulate ussd --phone ... --code ...`: a USSD session in the terminal."""

from __future__ import annotations

import secrets

import click

from app.channels.at_forms import UssdHop


@click.group("simulate")
def group() -> None:
    """Act as a phone, through the same gateway AT's callbacks reach."""


@group.command("ussd")
@click.option("--phone", required=True, help="the caller, e.g. +254712345678")
@click.option("--code", required=True, help="the USSD service code, e.g. '*483*1#'")
@click.option("--input", "inputs", multiple=True,
              help="answers to send in order instead of asking (repeatable)")
@click.option("--raw", is_flag=True, help="print replies exactly as AT would receive them")
@click.pass_obj
def ussd(obj, phone: str, code: str, inputs: tuple[str, ...], raw: bool) -> None:
    """Dial CODE as PHONE and answer each screen (from --input, or typed)."""
    gateway = obj.runtime.ussd
    session_id = f"SIM{secrets.token_hex(8)}"
    given = list(inputs)
    answers: list[str] = []
    while True:
        hop = UssdHop(session_id, code.replace(" ", ""), phone, "63902", "*".join(answers))
        reply = gateway.answer_safely(hop)
        click.echo(repr(reply) if raw else reply[4:])
        if reply.startswith("END "):
            return
        if inputs:
            if not given:
                click.echo("(no more --input: session left open)")
                return
            answer = given.pop(0)
            click.echo(f"> {answer}")
        else:
            answer = click.prompt(">", prompt_suffix=" ", default="", show_default=False)
        answers.append(answer)
        click.echo("-" * 20)


def register(main: click.Group) -> None:
    main.add_command(group)
